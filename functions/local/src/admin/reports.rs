//! `timeline` (one complaint, by key: the complaint and its complaint-events items) and `overdue`
//! (`open_due_before`: open complaints by deadline, only those already past it; on DynamoDB the
//! `open-next` index filtered on its projected `due_at`). Phone
//! numbers of complainants are masked, as in the logs; officials' are shown.

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use shikayat_adapters::aws::DynamoStore;
use shikayat_core::complaint::{Complaint, Status};
use shikayat_core::config::DistrictConfig;
use shikayat_core::ids::ComplaintId;
use shikayat_core::ports::ComplaintStore;

fn when(cfg: &DistrictConfig, t: Option<DateTime<Utc>>) -> String {
    t.map(|t| {
        t.with_timezone(&cfg.timezone())
            .format("%Y-%m-%d %H:%M:%S %Z")
            .to_string()
    })
    .unwrap_or_else(|| "-".into())
}

fn department(cfg: &DistrictConfig, c: &Complaint) -> String {
    match c.department.as_deref() {
        Some(d) => cfg
            .department(d)
            .map(|d| d.label())
            .unwrap_or_else(|| d.to_string()),
        None => "अनिर्दिष्ट / unassigned".into(),
    }
}

fn officer(cfg: &DistrictConfig, c: &Complaint) -> String {
    match &c.officer {
        Some(o) => match cfg.person(o) {
            Some(p) => format!("{} ({})", p.designation.as_deref().unwrap_or(&p.name), o.as_str()),
            None => o.as_str().to_string(),
        },
        None => "-".into(),
    }
}

pub async fn timeline(store: &DynamoStore, cfg: &DistrictConfig, raw: &str) -> anyhow::Result<()> {
    let id = ComplaintId::parse(raw)
        .with_context(|| format!("{raw:?} is not a complaint number (AMT-2026-000123)"))?;
    let Some(c) = store
        .get(&id)
        .await
        .map_err(|e| anyhow::anyhow!("reading {id}: {e}"))?
    else {
        bail!("no complaint {id} in {}", store.names().complaints());
    };
    let entries = store
        .timeline(&id)
        .await
        .map_err(|e| anyhow::anyhow!("reading the timeline of {id}: {e}"))?;
    let (hi, en) = c.status.label();
    println!("{id}: {hi} / {en}");
    println!("  complainant  {}", c.complainant.masked());
    println!("  department   {}", department(cfg, &c));
    println!("  officer      {}", officer(cfg, &c));
    println!("  received     {}", when(cfg, Some(c.created_at)));
    println!("  due          {}", when(cfg, c.due_at));
    println!("  reported     {}", when(cfg, c.reported_at));
    println!("  closed       {}", when(cfg, c.closed_at));
    println!(
        "  reopened {}×, escalation level {}, {} media",
        c.reopen_count,
        c.escalation_level,
        c.media.len()
    );
    println!("  subject      {}", c.subject(200));
    println!();
    println!("timeline ({} entries):", entries.len());
    for e in &entries {
        // `describe` masks phone numbers (Phone's Display is the masked form).
        let step = if e.from == e.to {
            e.to.as_str().to_string()
        } else {
            format!("{} → {}", e.from.as_str(), e.to.as_str())
        };
        let detail = if e.detail.is_empty() {
            String::new()
        } else {
            format!(" — {}", e.detail.replace('\n', " / "))
        };
        println!(
            "  {}  {:<22} {:<32} by {}{detail}",
            when(cfg, Some(e.at)),
            e.event,
            step,
            e.actor.describe()
        );
    }
    Ok(())
}

/// Complaints waiting for an officer's report (forwarded or reopened) whose deadline has passed.
/// A complaint whose report came late is not listed: it waits for the citizen now, not the
/// officer.
pub async fn overdue(
    store: &DynamoStore,
    cfg: &DistrictConfig,
    only: Option<&str>,
    limit: usize,
) -> anyhow::Result<()> {
    if let Some(d) = only {
        if cfg.department(d).is_none() {
            bail!("unknown department {d:?}");
        }
    }
    let now = Utc::now();
    let due = store
        .open_due_before(now, limit)
        .await
        .map_err(|e| anyhow::anyhow!("reading the open complaints past their deadline: {e}"))?;
    let truncated = due.len() >= limit;
    let late: Vec<&Complaint> = due
        .iter()
        .filter(|c| matches!(c.status, Status::Forwarded | Status::Reopened))
        .filter(|c| only.is_none_or(|d| c.department.as_deref() == Some(d)))
        .collect();
    println!(
        "{} overdue complaints at {}{}",
        late.len(),
        when(cfg, Some(now)),
        only.map(|d| format!(" in {d}")).unwrap_or_default()
    );
    for c in late {
        let by = c.due_at.map(|d| now - d).unwrap_or_default();
        println!(
            "  {}  due {}  overdue {}d {}h  level {}  {}  {}  {}",
            c.id,
            when(cfg, c.due_at),
            by.num_days(),
            by.num_hours() % 24,
            c.breach_level,
            c.status.as_str(),
            department(cfg, c),
            officer(cfg, c)
        );
    }
    if truncated {
        eprintln!("(only the first {limit} open complaints by deadline were read; raise --limit)");
    }
    Ok(())
}
