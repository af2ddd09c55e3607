//! The officer-relay: everything said to officers, the control room and supervisors —
//! routing a settled complaint, forwarding it, the full details once accepted, settling the
//! officer's report and handing it to the notifier. State changes go through the desk's
//! transitions, so what they cause is committed with them (the outbox).

pub mod lambda;

use chrono::{DateTime, Duration, Utc};
use shikayat_core::catalogue::{complaint_details, new_complaint};
use shikayat_core::command::{Command, Envelope, Outbound};
use shikayat_core::complaint::{Actor, Complaint, Status};
use shikayat_core::lifecycle::Event;
use shikayat_core::ports::{PortError, Ports};
use shikayat_core::routing::route;
use shikayat_core::{ComplaintId, CoreError};
use shikayat_desk::{assignment, deliver, load, tell, transition, Delivery, DeskError};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum RelayError {
    #[error(transparent)]
    Desk(#[from] DeskError),
    #[error("{0}")]
    Unexpected(String),
}

impl From<PortError> for RelayError {
    fn from(e: PortError) -> Self {
        RelayError::Desk(e.into())
    }
}

impl From<CoreError> for RelayError {
    fn from(e: CoreError) -> Self {
        RelayError::Desk(e.into())
    }
}

/// Each message of a burst schedules a settle command for the settle time it set; only the one
/// for the latest time (still on the complaint) acts, so two firing together cannot both act.
/// Commands from before `settles_at` was carried (None) fall back to the time check alone.
fn is_latest(scheduled: Option<DateTime<Utc>>, current: Option<DateTime<Utc>>) -> bool {
    scheduled.is_none_or(|t| current == Some(t))
}

/// A settle command fires at its own time; a later message pushed the settle time on and
/// scheduled its own command, so an early one stands down. One second of slack for clocks.
fn still_settling(settles_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    settles_at.is_some_and(|t| t > now + Duration::seconds(1))
}

/// Handles one command; idempotent on the envelope key. A command the rules refuse (its
/// complaint moved on) completes: it is stale, and retrying cannot help.
pub async fn handle(p: &Ports, env: &Envelope) -> Result<(), RelayError> {
    if p.messages.is_done(&env.key).await? {
        return Ok(());
    }
    let done = match &env.command {
        Command::SettleComplaint { id, settles_at } => settle_complaint(p, id, *settles_at).await,
        Command::ForwardComplaint { id } => forward(p, &env.key, id).await,
        Command::SendDetails { id } => send_details(p, &env.key, id).await,
        Command::SettleReport { id, settles_at } => settle_report(p, &env.key, id, *settles_at).await,
        Command::Tell {
            to,
            complaint,
            notice,
        } => tell(p, &env.key, to, complaint.as_ref(), notice)
            .await
            .map(|_| ()),
        other => {
            return Err(RelayError::Unexpected(format!(
                "officer-relay got {}",
                other.kind()
            )))
        }
    };
    shikayat_desk::settle_command(p, shikayat_core::command::QueueName::Relay, env, done).await?;
    Ok(())
}

/// The burst has settled: route by keywords to a department's officer, or to the control room.
async fn settle_complaint(
    p: &Ports,
    id: &ComplaintId,
    scheduled: Option<DateTime<Utc>>,
) -> Result<(), DeskError> {
    let c = load(p, id).await?;
    if c.status != Status::Registered
        || c.department.is_some()
        || !is_latest(scheduled, c.settles_at)
        || still_settling(c.settles_at, p.clock.now())
    {
        return Ok(());
    }
    let Some(dep) = route(&p.config, &c.text).and_then(|d| p.config.department(d)) else {
        return unassigned(p, &c, "कोई विभाग नहीं मिला / no department matched".into()).await;
    };
    let Some((officer, due_at)) = assignment(p, dep, None, false).await? else {
        return unassigned(p, &c, format!("no officer for {}", dep.id)).await;
    };
    let event = Event::Forward {
        department: dep.id.clone(),
        officer,
        due_at,
    };
    transition(p, id, Actor::System, |_| event.clone()).await?;
    Ok(())
}

/// To the control room's unassigned register; the rules tell the control room.
async fn unassigned(p: &Ports, c: &Complaint, why: String) -> Result<(), DeskError> {
    let event = Event::Unassigned { reason: why };
    transition(p, &c.id, Actor::System, |_| event.clone()).await?;
    Ok(())
}

/// Sends the complaint to its officer; a reopened one is forwarded again first (its own
/// transition, whose outbox brings this command back for the officer it chose).
async fn forward(p: &Ports, key: &str, id: &ComplaintId) -> Result<(), DeskError> {
    let c = load(p, id).await?;
    if c.status == Status::Reopened {
        let dep = c.department.as_deref().and_then(|d| p.config.department(d));
        let chosen = match dep {
            Some(d) => assignment(p, d, c.officer.as_ref(), true).await?.map(|x| (d, x)),
            None => None,
        };
        let Some((dep, (officer, due_at))) = chosen else {
            return unassigned(p, &c, "दोबारा खोली गई / reopened".into()).await;
        };
        let event = Event::Forward {
            department: dep.id.clone(),
            officer,
            due_at,
        };
        transition(p, id, Actor::System, |_| event.clone()).await?;
        return Ok(());
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

async fn send_details(p: &Ports, key: &str, id: &ComplaintId) -> Result<(), DeskError> {
    let c = load(p, id).await?;
    let Some(officer) = c.officer.clone() else {
        return Ok(());
    };
    let rendered = complaint_details(&c, &p.config);
    deliver(
        p,
        Delivery {
            key,
            to: &officer,
            complaint: Some(id),
            kind: "details",
            rendered,
        },
    )
    .await?;
    Ok(())
}

/// The report has settled: hand it to the notifier. The delivery's key is this settle
/// command's own (unique to the report part that scheduled it), so a second report after a
/// reopening is never taken for the first.
async fn settle_report(
    p: &Ports,
    key: &str,
    id: &ComplaintId,
    scheduled: Option<DateTime<Utc>>,
) -> Result<(), DeskError> {
    let c = load(p, id).await?;
    let settles_at = c.report.as_ref().and_then(|r| r.settles_at);
    // Evidence that came during or after the delivery is delivered too (`more_evidence`).
    let owed = match c.status {
        Status::Reported => true,
        Status::ReportDelivered => c.report.as_ref().is_some_and(|r| r.undelivered()),
        _ => false,
    };
    if owed && is_latest(scheduled, settles_at) && !still_settling(settles_at, p.clock.now()) {
        let cmd = Outbound::notify(
            format!("{key}:deliver"),
            Command::DeliverReport { id: id.clone() },
        );
        p.queue.send(&cmd).await?;
    }
    Ok(())
}
