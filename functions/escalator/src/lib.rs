//! The escalator, run on a schedule: reminders before the deadline, escalation up the chain
//! after it, auto-close when a delivered report gets no feedback. What is due is decided by the
//! core (`escalation::plan`); this applies it.
//!
//! It reads only the complaints whose `next_action_at` has come, through the store's sparse
//! index (`open_action_due`), never a scan. Every action goes through `rules::decide` with a
//! timeline entry and a conditional write that also moves `next_action_at` on and carries the
//! messages in its outbox, so a schedule that fires twice sends nothing twice.

pub mod digest;
pub mod lambda;

use shikayat_core::complaint::{Actor, Complaint};
use shikayat_core::escalation::{plan, Due};
use shikayat_core::ports::{PortError, Ports};
use shikayat_core::rules::{decide, due_event};
use shikayat_core::{CoreError, Phone};
use shikayat_desk::DeskError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum EscalatorError {
    #[error(transparent)]
    Port(#[from] PortError),
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error(transparent)]
    Desk(#[from] DeskError),
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

/// Applies what is due to one complaint in one write, with what it causes (`rules`) in the same
/// write's outbox; false when a concurrent write won (the next sweep retries).
async fn handle(
    p: &Ports,
    mut c: Complaint,
    chain: &[Phone],
    policy: &shikayat_core::config::Policy,
    now: chrono::DateTime<chrono::Utc>,
    out: &mut Sweep,
) -> Result<bool, EscalatorError> {
    shikayat_desk::outbox::flush(p, &mut c).await?;
    let todo = plan(&c, chain, policy, now);
    let mut entries = Vec::new();
    let mut effects = Vec::new();
    for d in &todo.due {
        let decision = decide(&c, due_event(d), Actor::System, now)?;
        c = decision.complaint;
        entries.push(decision.entry);
        effects.extend(decision.effects);
    }
    c.next_action_at = todo.next_action_at;
    match shikayat_desk::commit(p, c, &entries, effects).await {
        Ok(_) => {}
        Err(DeskError::Port(PortError::Conflict(_))) => return Ok(false),
        Err(e) => return Err(e.into()),
    }
    for d in todo.due {
        // The timeline entries written with them are the state-change log lines (state_log).
        match d {
            Due::Reminder { .. } => out.reminded += 1,
            Due::Escalate { .. } => out.escalated += 1,
            Due::AutoClose => out.closed += 1,
        }
    }
    Ok(true)
}
