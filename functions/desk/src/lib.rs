//! The desk's shell, shared by every function: stored transitions with their outbox (the state
//! change and the commands it causes in one atomic write, then dispatched), and delivery to one
//! person (the 24-hour window, templates, pacing, resuming, permanent failures).
//!
//! The core decides (`shikayat_core::rules`); this performs.

pub mod deliver;
pub mod outbox;

use shikayat_core::ports::{PortError, SendError};
use shikayat_core::CoreError;
use thiserror::Error;

pub use deliver::{deliver, notice_kind, record_failure, tell, Delivered, Delivery};
pub use outbox::{commit, create, load, transition};

#[derive(Debug, Error)]
pub enum DeskError {
    /// The rules refused the step (illegal in this state, or not this person's): it is answered
    /// to the person, never retried.
    #[error("refused: {0}")]
    Refused(#[from] CoreError),
    /// No such complaint: also an answer, not a retry.
    #[error("no complaint {0}")]
    NoSuchComplaint(String),
    #[error(transparent)]
    Port(PortError),
    #[error("whatsapp: {0}")]
    Send(SendError),
    /// Meta's pair rate: the next message to this person may go only after this wait. The
    /// command goes back on its queue with that delay (`requeue_later`), never a sleep.
    #[error("paced: the next message may go in {0}")]
    Later(chrono::Duration),
}

impl From<PortError> for DeskError {
    fn from(e: PortError) -> Self {
        match e {
            PortError::NotFound(what) => DeskError::NoSuchComplaint(what),
            other => DeskError::Port(other),
        }
    }
}

impl DeskError {
    /// Infrastructure failed (store, queue, network, Meta's 429/5xx): the queue redelivers.
    pub fn is_retryable(&self) -> bool {
        match self {
            DeskError::Refused(_) | DeskError::NoSuchComplaint(_) => false,
            DeskError::Port(e) => !matches!(e, PortError::Permanent(_)),
            DeskError::Send(e) => matches!(e, SendError::Retryable { .. }),
            DeskError::Later(_) => true,
        }
    }

    /// A step the rules refused, to be answered rather than retried.
    pub fn is_refusal(&self) -> bool {
        matches!(self, DeskError::Refused(_) | DeskError::NoSuchComplaint(_))
    }
}

pub type DeskResult<T> = Result<T, DeskError>;

/// How a consumer ends a command: done (marked, so a redelivery does nothing), paced (a copy
/// goes back on `queue` with the wait; this one is not marked), stale (refused by the rules:
/// marked, nothing to retry), or failed (the error, so the queue redelivers it).
pub async fn settle_command(
    p: &shikayat_core::ports::Ports,
    queue: shikayat_core::command::QueueName,
    env: &shikayat_core::command::Envelope,
    done: DeskResult<()>,
) -> DeskResult<()> {
    match done {
        Ok(()) => {}
        Err(DeskError::Later(wait)) => return requeue_later(p, queue, env, wait).await,
        Err(e) if e.is_refusal() => tracing::info!(error = %e, "stale command completed"),
        Err(e) => return Err(e),
    }
    p.messages.mark_done(&env.key).await?;
    Ok(())
}

/// Puts a paced command back on its queue, visible after `wait` (whole seconds, as SQS counts
/// them; at most its 15 minutes). The copy keeps the key, so it resumes where this one stopped.
pub async fn requeue_later(
    p: &shikayat_core::ports::Ports,
    queue: shikayat_core::command::QueueName,
    env: &shikayat_core::command::Envelope,
    wait: chrono::Duration,
) -> DeskResult<()> {
    let ms = wait.num_milliseconds().max(0);
    let seconds = ((ms + 999) / 1000).clamp(1, 900) as u32;
    let out = shikayat_core::command::Outbound {
        queue,
        envelope: env.clone(),
        group: None,
        delay_seconds: seconds,
    };
    p.queue.send(&out).await?;
    tracing::debug!(seconds, "paced: back on the queue");
    Ok(())
}

/// Who gets a complaint of `department`, and by when: the one rule for the relay's routing, the
/// control room's `assign` and a reopened complaint's second look. A reopened complaint goes back
/// to the same officer while they still hold the department, with the shorter reopened deadline.
pub async fn assignment(
    p: &shikayat_core::ports::Ports,
    department: &shikayat_core::config::Department,
    previous: Option<&shikayat_core::Phone>,
    reopened: bool,
) -> DeskResult<Option<(shikayat_core::Phone, chrono::DateTime<chrono::Utc>)>> {
    let officers = p.directory.officers_of(&department.id).await?;
    let officer = match previous {
        Some(prev) if officers.iter().any(|o| &o.phone == prev) => Some(prev.clone()),
        _ => officers.into_iter().next().map(|o| o.phone),
    };
    let Some(officer) = officer else {
        return Ok(None);
    };
    let due_at =
        shikayat_core::escalation::deadline(&p.config.policy()?, department.sla()?, reopened, p.clock.now());
    Ok(Some((officer, due_at)))
}
