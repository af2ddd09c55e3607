//! The daily digest, sent by the sweep once the district time has passed `digest_time`: to every
//! control-room number (all departments) and every supervisor (the departments of the officers
//! below them, through `reports_to`). Once per district day and person: the command key is
//! `digest:<date>:<phone>` (the consumer's own dedupe) and a separate done-mark
//! `digest-sent:<date>:<phone>` stops later sweeps from building it again.
//!
//! Counts come from the department registers (`by_department` from the day's start,
//! `open_by_department`, `closed_by_department`), never a scan of all complaints.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use shikayat_core::catalogue::Notice;
use shikayat_core::command::{Command, Outbound};
use shikayat_core::complaint::Complaint;
use shikayat_core::config::{Person, Role};
use shikayat_core::digest::{build, district_day, due, DepartmentDay};
use shikayat_core::ports::Ports;
use shikayat_core::Phone;

use crate::{EscalatorError, MAX_CHAIN};

/// Who gets the digest, and for which departments (config order).
pub(crate) async fn recipients(p: &Ports) -> Result<Vec<(Phone, Vec<String>)>, EscalatorError> {
    let all: Vec<String> = p.config.departments.iter().map(|d| d.id.clone()).collect();
    let mut out: Vec<(Phone, Vec<String>)> = p
        .directory
        .with_role(Role::ControlRoom)
        .await?
        .into_iter()
        .map(|x| (x.phone, all.clone()))
        .collect();
    let supervisors = p.directory.with_role(Role::Supervisor).await?;
    let officers = p.directory.with_role(Role::Officer).await?;
    let by_phone: HashMap<&Phone, &Person> = supervisors
        .iter()
        .chain(officers.iter())
        .map(|x| (&x.phone, x))
        .collect();
    let mut below: HashMap<&Phone, BTreeSet<&str>> = HashMap::new();
    for o in &officers {
        let mut at = o.reports_to.as_ref();
        let mut steps = 0;
        while let Some(up) = at {
            if steps >= MAX_CHAIN || up == &o.phone {
                break;
            }
            below
                .entry(up)
                .or_default()
                .extend(o.departments.iter().map(String::as_str));
            at = by_phone.get(up).and_then(|x| x.reports_to.as_ref());
            steps += 1;
        }
    }
    for s in &supervisors {
        let mine = below.get(&s.phone);
        let depts = all
            .iter()
            .filter(|d| mine.is_some_and(|m| m.contains(d.as_str())))
            .cloned()
            .collect();
        out.push((s.phone.clone(), depts));
    }
    Ok(out)
}

struct Registers {
    new_today: Vec<Complaint>,
    open: Vec<Complaint>,
    closed_today: Vec<Complaint>,
}

/// Sends today's digest to whoever has not had it; returns how many were sent.
pub async fn send_due(p: &Ports, now: DateTime<Utc>) -> Result<usize, EscalatorError> {
    let policy = p.config.policy()?;
    let Some(date) = due(&p.config, policy.digest_time, now) else {
        return Ok(0);
    };
    let (_, start) = district_day(&p.config, now);
    let mut cache: HashMap<String, Registers> = HashMap::new();
    let mut sent = 0;
    for (who, depts) in recipients(p).await? {
        let mark = format!("digest-sent:{date}:{}", p.ids.phone(&who));
        if p.messages.is_done(&mark).await? {
            continue;
        }
        for d in &depts {
            if !cache.contains_key(d) {
                let regs = Registers {
                    new_today: p.complaints.by_department(d, start, now).await?,
                    open: p.complaints.open_by_department(d).await?,
                    closed_today: p.complaints.closed_by_department(d, start, now).await?,
                };
                cache.insert(d.clone(), regs);
            }
        }
        let days: Vec<DepartmentDay<'_>> = depts
            .iter()
            .filter_map(|d| {
                cache.get(d).map(|r| DepartmentDay {
                    department: d,
                    new_today: &r.new_today,
                    open: &r.open,
                    closed_today: &r.closed_today,
                })
            })
            .collect();
        let digest = build(date, start, now, &days);
        let notice = Notice::Digest {
            label: digest.label(),
            text: digest.text(&p.config),
        };
        let cmd = Command::Tell {
            to: who.clone(),
            complaint: None,
            notice,
        };
        p.queue
            .send(&Outbound::relay(
                format!("digest:{date}:{}", p.ids.phone(&who)),
                cmd,
            ))
            .await?;
        p.messages.mark_done(&mark).await?;
        sent += 1;
        tracing::info!(to = %p.ids.phone(&who), %date, departments = depts.len(), "daily digest sent");
    }
    Ok(sent)
}
