//! The notifier: everything said to citizens (acknowledgements, status answers, the report with
//! its evidence and the feedback buttons, closure notices). Delivery itself is the desk's.

pub mod lambda;

use shikayat_core::catalogue::{more_evidence, report_to_citizen};
use shikayat_core::command::{Command, Envelope};
use shikayat_core::complaint::{Actor, Status};
use shikayat_core::lifecycle::Event;
use shikayat_core::outbound::Rendered;
use shikayat_core::ports::Ports;
use shikayat_core::ComplaintId;
use shikayat_desk::{deliver, load, tell, transition, Delivered, Delivery, DeskError};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum NotifyError {
    #[error(transparent)]
    Desk(#[from] DeskError),
    #[error("{0}")]
    Unexpected(String),
}

impl From<shikayat_core::ports::PortError> for NotifyError {
    fn from(e: shikayat_core::ports::PortError) -> Self {
        NotifyError::Desk(e.into())
    }
}

/// Handles one command from the notify queue; idempotent on the envelope key. A command the
/// rules refuse (its complaint moved on) completes: it is stale, and retrying cannot help.
pub async fn handle(p: &Ports, env: &Envelope) -> Result<(), NotifyError> {
    if p.messages.is_done(&env.key).await? {
        return Ok(());
    }
    let done = match &env.command {
        Command::Tell {
            to,
            complaint,
            notice,
        } => tell(p, &env.key, to, complaint.as_ref(), notice)
            .await
            .map(|_| ()),
        Command::DeliverReport { id } => deliver_report(p, &env.key, id).await,
        other => return Err(NotifyError::Unexpected(format!("notifier got {}", other.kind()))),
    };
    shikayat_desk::settle_command(p, shikayat_core::command::QueueName::Notify, env, done).await?;
    Ok(())
}

/// The report first, then the transition: a retry resumes the parts not yet sent. Evidence that
/// arrived during or after an earlier delivery follows on its own, without a second question.
/// A citizen outside their window gets the report's template; the rest follows once their tap on
/// *View report* opens the window (the router then asks for this delivery again).
async fn deliver_report(p: &Ports, key: &str, id: &ComplaintId) -> Result<(), DeskError> {
    let c = load(p, id).await?;
    let Some(report) = c.report.clone() else {
        return Ok(());
    };
    let to = c.complainant.clone();
    let rendered = match c.status {
        Status::Reported => report_to_citizen(&c, &p.config),
        // Announced only: everything, evidence and buttons, once the window is open (the only
        // case that needs the conversation read here; `deliver` reads it for the rest).
        Status::ReportDelivered if report.announced() => {
            if !p.conversations.get(&to).await?.window_open(p.clock.now()) {
                return Ok(());
            }
            Rendered {
                template: None,
                ..report_to_citizen(&c, &p.config)
            }
        }
        Status::ReportDelivered if report.undelivered() => more_evidence(&c, &p.config),
        _ => return Ok(()),
    };
    let has_evidence = !report.media.is_empty();
    let delivered = deliver(
        p,
        Delivery {
            key,
            to: &to,
            complaint: Some(id),
            kind: "report",
            rendered,
        },
    )
    .await?;
    let mut of = report.mark();
    // A template with no evidence carries the feedback buttons itself: nothing waits.
    of.announced = has_evidence
        && matches!(
            delivered,
            Delivered::Sent {
                via_template: true,
                ..
            }
        );
    match transition(p, id, Actor::System, |_| Event::ReportDelivered { of }).await {
        // Refused: already delivered by an earlier try, or the complaint moved on.
        Ok(_) | Err(DeskError::Refused(_)) | Err(DeskError::NoSuchComplaint(_)) => Ok(()),
        Err(e) => Err(e),
    }
}
