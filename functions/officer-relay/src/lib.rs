//! The officer-relay: everything said to officers, the control room and supervisors —
//! routing a settled complaint and forwarding it, the full details once accepted, settling the
//! officer's report and handing it to the notifier.

pub mod lambda;

use chrono::{DateTime, Duration, Utc};
use shikayat_core::catalogue::{complaint_details, new_complaint, render, Notice};
use shikayat_core::command::{Command, Envelope, Outbound};
use shikayat_core::complaint::{Actor, Complaint, Status};
use shikayat_core::config::Role;
use shikayat_core::escalation::deadline;
use shikayat_core::lifecycle::Event;
use shikayat_core::ports::{transition, PortError, Ports, TransitionError};
use shikayat_core::routing::route;
use shikayat_core::{ComplaintId, CoreError, Phone};
use shikayat_notifier::{deliver, notice_kind, Delivery, NotifyError};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum RelayError {
    #[error(transparent)]
    Port(#[from] PortError),
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error(transparent)]
    Notify(#[from] NotifyError),
    #[error("{0}")]
    Unexpected(String),
}

/// Each message of a burst schedules a settle command for the settle time it set; only the one
/// for the latest time (still on the complaint) acts, so two firing together cannot both act.
/// Commands from before `settles_at` was carried (None) fall back to the time check alone.
fn is_latest(scheduled: Option<DateTime<Utc>>, current: Option<DateTime<Utc>>) -> bool {
    scheduled.is_none_or(|t| current == Some(t))
}

/// A settle command fires at its own time; a later message pushed the settle time on and
/// scheduled its own command, so an early one stands down. One second of slack for clocks.
fn still_settling(
    settles_at: Option<chrono::DateTime<chrono::Utc>>,
    now: chrono::DateTime<chrono::Utc>,
) -> bool {
    settles_at.is_some_and(|t| t > now + Duration::seconds(1))
}

pub async fn handle(p: &Ports, env: &Envelope) -> Result<(), RelayError> {
    if p.messages.is_done(&env.key).await? {
        return Ok(());
    }
    match &env.command {
        Command::SettleComplaint { id, settles_at } => settle_complaint(p, &env.key, id, *settles_at).await?,
        Command::ForwardComplaint { id } => forward(p, &env.key, id).await?,
        Command::SendDetails { id } => {
            let c = load(p, id).await?;
            if let Some(officer) = c.officer.clone() {
                let rendered = complaint_details(&c, &p.config);
                deliver(
                    p,
                    Delivery {
                        key: &env.key,
                        to: &officer,
                        complaint: Some(id),
                        kind: "details",
                        rendered,
                    },
                )
                .await?;
            }
        }
        Command::SettleReport {
            id,
            settles_at: scheduled,
        } => {
            let c = load(p, id).await?;
            let settles_at = c.report.as_ref().and_then(|r| r.settles_at);
            if c.status == Status::Reported
                && is_latest(*scheduled, settles_at)
                && !still_settling(settles_at, p.clock.now())
            {
                let parts = c.report.as_ref().map_or(0, |r| r.wamids.len());
                let cmd = Outbound::notify(
                    format!("deliver:{id}:{parts}"),
                    Command::DeliverReport { id: id.clone() },
                );
                p.queue.send(&cmd).await?;
            }
        }
        Command::Tell {
            to,
            complaint,
            notice,
        } => {
            shikayat_notifier::tell(p, &env.key, to, complaint.as_ref(), notice).await?;
        }
        other => {
            return Err(RelayError::Unexpected(format!(
                "officer-relay got {}",
                other.kind()
            )))
        }
    }
    p.messages.mark_done(&env.key).await?;
    Ok(())
}

async fn load(p: &Ports, id: &ComplaintId) -> Result<Complaint, RelayError> {
    p.complaints
        .get(id)
        .await?
        .ok_or_else(|| RelayError::Unexpected(format!("no complaint {id}")))
}

async fn update(p: &Ports, id: &ComplaintId, event: Event) -> Result<Complaint, RelayError> {
    match transition(p, id, Actor::System, |_| event.clone()).await {
        Ok((c, _)) => Ok(c),
        Err(TransitionError::Port(e)) => Err(e.into()),
        Err(TransitionError::Lifecycle(e)) => Err(e.into()),
    }
}

/// The burst has settled: route by keywords to a department's officer, or to the control room.
async fn settle_complaint(
    p: &Ports,
    key: &str,
    id: &ComplaintId,
    scheduled: Option<DateTime<Utc>>,
) -> Result<(), RelayError> {
    let c = load(p, id).await?;
    if c.status != Status::Registered
        || c.department.is_some()
        || !is_latest(scheduled, c.settles_at)
        || still_settling(c.settles_at, p.clock.now())
    {
        return Ok(());
    }
    let Some(dep) = route(&p.config, &c.text).and_then(|d| p.config.department(d)) else {
        let why = "कोई विभाग नहीं मिला / no department matched".to_string();
        return unassigned(p, key, &c, why).await;
    };
    let Some(officer) = officer_for(p, &dep.id, None).await? else {
        return unassigned(p, key, &c, format!("no officer for {}", dep.id)).await;
    };
    let due_at = deadline(&p.config.policy()?, dep.sla()?, false, p.clock.now());
    update(
        p,
        id,
        Event::Forward {
            department: dep.id.clone(),
            officer,
            due_at,
        },
    )
    .await?;
    forward(p, key, id).await
}

async fn officer_for(
    p: &Ports,
    department: &str,
    previous: Option<&Phone>,
) -> Result<Option<Phone>, RelayError> {
    let officers = p.directory.officers_of(department).await?;
    // A reopened complaint goes back to the same officer while they still hold the department.
    if let Some(prev) = previous {
        if officers.iter().any(|o| &o.phone == prev) {
            return Ok(Some(prev.clone()));
        }
    }
    Ok(officers.into_iter().next().map(|o| o.phone))
}

async fn unassigned(p: &Ports, key: &str, c: &Complaint, why: String) -> Result<(), RelayError> {
    if matches!(c.status, Status::Registered | Status::Reopened) {
        update(p, &c.id, Event::Unassigned { reason: why.clone() }).await?;
    }
    let notice = Notice::Unassigned {
        id: c.id.clone(),
        subject: c.subject(200),
        why,
    };
    tell_role(p, key, Role::ControlRoom, &c.id, &notice).await
}

async fn tell_role(
    p: &Ports,
    key: &str,
    role: Role,
    id: &ComplaintId,
    notice: &Notice,
) -> Result<(), RelayError> {
    let kind = notice_kind(notice);
    for person in p.directory.with_role(role).await? {
        let rendered = render(notice, &p.config);
        let k = format!("{key}:{}", person.phone.as_str());
        deliver(
            p,
            Delivery {
                key: &k,
                to: &person.phone,
                complaint: Some(id),
                kind: &kind,
                rendered,
            },
        )
        .await?;
    }
    Ok(())
}

/// Sends the complaint to its officer; a reopened one is forwarded again first.
async fn forward(p: &Ports, key: &str, id: &ComplaintId) -> Result<(), RelayError> {
    let mut c = load(p, id).await?;
    if c.status == Status::Reopened {
        let dep = c
            .department
            .clone()
            .and_then(|d| p.config.department(&d).cloned());
        let officer = match &dep {
            Some(d) => officer_for(p, &d.id, c.officer.as_ref()).await?,
            None => None,
        };
        let (Some(dep), Some(officer)) = (dep, officer) else {
            return unassigned(p, key, &c, "दोबारा खोली गई / reopened".into()).await;
        };
        // A second look gets the shorter reopened deadline (`[escalation] reopened_sla`).
        let due_at = deadline(&p.config.policy()?, dep.sla()?, true, p.clock.now());
        c = update(
            p,
            id,
            Event::Forward {
                department: dep.id.clone(),
                officer,
                due_at,
            },
        )
        .await?;
    }
    if c.status != Status::Forwarded {
        return Ok(());
    }
    let Some(officer) = c.officer.clone() else {
        return Ok(());
    };
    let rendered = new_complaint(&c, &p.config);
    deliver(
        p,
        Delivery {
            key,
            to: &officer,
            complaint: Some(id),
            kind: "new_complaint",
            rendered,
        },
    )
    .await?;
    Ok(())
}
