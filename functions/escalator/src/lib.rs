//! The escalator, run on a schedule: reminders before the deadline, escalation up the chain
//! after it, auto-close when a delivered report gets no feedback. What is due is decided by the
//! core (`escalation::plan`); this applies it.
//!
//! It reads only the complaints whose `next_action_at` has come, through the store's sparse
//! index (`open_action_due`), never a scan. Every action goes through `lifecycle::apply` with a
//! timeline entry and a conditional write that also moves `next_action_at` on; the messages are
//! commands with deterministic keys, so a schedule that fires twice sends nothing twice.

pub mod digest;
pub mod lambda;

use shikayat_core::catalogue::Notice;
use shikayat_core::command::{Command, Outbound};
use shikayat_core::complaint::{Actor, Complaint};
use shikayat_core::config::Role;
use shikayat_core::escalation::{plan, Due};
use shikayat_core::lifecycle::{apply, Event};
use shikayat_core::ports::{PortError, Ports};
use shikayat_core::{CoreError, Phone};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum EscalatorError {
    #[error(transparent)]
    Port(#[from] PortError),
    #[error(transparent)]
    Core(#[from] CoreError),
}

/// What one sweep did.
#[derive(Debug, Default, PartialEq)]
pub struct Sweep {
    pub examined: usize,
    pub reminded: usize,
    pub escalated: usize,
    pub closed: usize,
    /// Daily digests sent (to the control room and supervisors), once per district day each.
    pub digests: usize,
}

const BATCH: usize = 500;
/// A `reports_to` loop in the directory must not hang the sweep.
pub(crate) const MAX_CHAIN: usize = 10;

pub async fn sweep(p: &Ports) -> Result<Sweep, EscalatorError> {
    let now = p.clock.now();
    let policy = p.config.policy()?;
    let mut out = Sweep::default();
    // Each pass moves every complaint it reads out of the window (or loses a race and leaves
    // it for the next sweep), so a full batch means there may be more.
    loop {
        let batch = p.complaints.open_action_due(now, BATCH).await?;
        let full = batch.len() == BATCH;
        let mut progressed = false;
        for c in batch {
            out.examined += 1;
            let chain = chain(p, c.officer.as_ref()).await?;
            progressed |= handle(p, c, &chain, &policy, now, &mut out).await?;
        }
        if !full || !progressed {
            break;
        }
    }
    out.digests = digest::send_due(p, now).await?;
    Ok(out)
}

/// The people above `officer`, nearest first.
async fn chain(p: &Ports, officer: Option<&Phone>) -> Result<Vec<Phone>, EscalatorError> {
    let mut out: Vec<Phone> = Vec::new();
    let mut at = officer.cloned();
    while let Some(who) = at.take() {
        let Some(up) = p.directory.person(&who).await?.and_then(|x| x.reports_to) else {
            break;
        };
        if out.contains(&up) || Some(&up) == officer || out.len() >= MAX_CHAIN {
            break;
        }
        out.push(up.clone());
        at = Some(up);
    }
    Ok(out)
}

/// Applies what is due to one complaint; false when a concurrent write won (next sweep retries).
async fn handle(
    p: &Ports,
    mut c: Complaint,
    chain: &[Phone],
    policy: &shikayat_core::config::Policy,
    now: chrono::DateTime<chrono::Utc>,
    out: &mut Sweep,
) -> Result<bool, EscalatorError> {
    let todo = plan(&c, chain, policy, now);
    let mut entries = Vec::new();
    for d in &todo.due {
        let event = match d.clone() {
            Due::Reminder { offset_index, covers } => Event::Reminder { offset_index, covers },
            Due::Escalate { level, to } => Event::Escalate {
                level,
                to: to.map(|x| x.masked()).unwrap_or_else(|| "control room".into()),
            },
            Due::AutoClose => Event::AutoClose,
        };
        entries.push(apply(&mut c, event, Actor::System, now)?);
    }
    c.next_action_at = todo.next_action_at;
    match p.complaints.update(&mut c, &entries).await {
        Ok(()) => {}
        Err(PortError::Conflict(_)) => return Ok(false),
        Err(e) => return Err(e.into()),
    }
    // The deadline this round belongs to: a new deadline gets new reminders and escalations.
    let round = c.due_at.map(|t| t.timestamp()).unwrap_or_default();
    for d in todo.due {
        match d {
            Due::Reminder { offset_index, .. } => {
                let Some(officer) = c.officer.clone() else {
                    continue;
                };
                let key = format!("reminder:{}:{round}:{offset_index}", c.id);
                let notice = Notice::Reminder {
                    id: c.id.clone(),
                    department: c.department.clone(),
                    due_at: c.due_at,
                };
                tell(p, Outbound::relay, key, officer, &c, notice).await?;
                out.reminded += 1;
                tracing::info!(complaint = %c.id, offset_index, "reminder sent");
            }
            Due::Escalate { level, to } => {
                let notice = Notice::Overdue {
                    id: c.id.clone(),
                    department: c.department.clone(),
                    due_at: c.due_at,
                    level,
                };
                let mut recipients: Vec<Phone> = p
                    .directory
                    .with_role(Role::ControlRoom)
                    .await?
                    .into_iter()
                    .map(|x| x.phone)
                    .collect();
                recipients.extend(to);
                for who in recipients {
                    let key = format!("overdue:{}:{round}:{level}:{}", c.id, who.as_str());
                    tell(p, Outbound::relay, key, who, &c, notice.clone()).await?;
                }
                out.escalated += 1;
                tracing::info!(complaint = %c.id, level, "escalated: report overdue");
            }
            Due::AutoClose => {
                let key = format!("closed-no-feedback:{}", c.id);
                let notice = Notice::ClosedNoFeedback { id: c.id.clone() };
                let who = c.complainant.clone();
                tell(p, Outbound::notify, key, who, &c, notice).await?;
                out.closed += 1;
                tracing::info!(complaint = %c.id, "closed: no feedback");
            }
        }
    }
    Ok(true)
}

async fn tell(
    p: &Ports,
    queue: fn(String, Command) -> Outbound,
    key: String,
    to: Phone,
    c: &Complaint,
    notice: Notice,
) -> Result<(), EscalatorError> {
    let cmd = Command::Tell {
        to,
        complaint: Some(c.id.clone()),
        notice,
    };
    p.queue.send(&queue(key, cmd)).await?;
    Ok(())
}
