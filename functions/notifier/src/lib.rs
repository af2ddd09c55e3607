//! The notifier: everything said to citizens (acknowledgements, status answers, the report with
//! its evidence and the feedback buttons, closure notices). `deliver` is shared with the
//! officer-relay.

pub mod deliver;
pub mod lambda;

use shikayat_core::catalogue::{render, report_to_citizen};
use shikayat_core::command::{Command, Envelope};
use shikayat_core::complaint::{Actor, Status};
use shikayat_core::lifecycle::Event;
use shikayat_core::ports::{transition, PortError, Ports, SendError, TransitionError};
use shikayat_core::CoreError;
use thiserror::Error;

pub use deliver::{deliver, Delivered, Delivery};

#[derive(Debug, Error)]
pub enum NotifyError {
    #[error(transparent)]
    Port(#[from] PortError),
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("whatsapp: {0}")]
    Send(SendError),
    #[error("{0}")]
    Unexpected(String),
}

impl NotifyError {
    /// Worth another try (the queue redelivers); otherwise the command is poison.
    pub fn is_retryable(&self) -> bool {
        !matches!(self, NotifyError::Core(_) | NotifyError::Unexpected(_))
    }
}

/// Handles one command from the notify queue; idempotent on the envelope key.
pub async fn handle(p: &Ports, env: &Envelope) -> Result<(), NotifyError> {
    if p.messages.is_done(&env.key).await? {
        return Ok(());
    }
    match &env.command {
        Command::Tell {
            to,
            complaint,
            notice,
        } => {
            tell(p, &env.key, to, complaint.as_ref(), notice).await?;
        }
        Command::DeliverReport { id } => deliver_report(p, &env.key, id).await?,
        other => return Err(NotifyError::Unexpected(format!("notifier got {}", other.kind()))),
    }
    p.messages.mark_done(&env.key).await?;
    Ok(())
}

async fn deliver_report(p: &Ports, key: &str, id: &shikayat_core::ComplaintId) -> Result<(), NotifyError> {
    let Some(c) = p.complaints.get(id).await? else {
        return Err(NotifyError::Unexpected(format!("no complaint {id}")));
    };
    if !matches!(c.status, Status::Reported | Status::ReportDelivered) {
        return Ok(());
    }
    let rendered = report_to_citizen(&c, &p.config);
    let to = c.complainant.clone();
    deliver(
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
    match transition(p, id, Actor::System, |_| Event::ReportDelivered).await {
        // Refused: already delivered by an earlier try, or the complaint moved on.
        Ok(_) | Err(TransitionError::Lifecycle(_)) | Err(TransitionError::Port(PortError::NotFound(_))) => {
            Ok(())
        }
        Err(TransitionError::Port(e)) => Err(e.into()),
    }
}

/// Renders a notice and delivers it to one person: the `tell` command of either consumer.
pub async fn tell(
    p: &Ports,
    key: &str,
    to: &shikayat_core::Phone,
    complaint: Option<&shikayat_core::ComplaintId>,
    notice: &shikayat_core::catalogue::Notice,
) -> Result<Delivered, NotifyError> {
    let rendered = render(notice, &p.config);
    let kind = notice_kind(notice);
    deliver(
        p,
        Delivery {
            key,
            to,
            complaint,
            kind: &kind,
            rendered,
        },
    )
    .await
}

/// The notice's serde tag (`registered`, `welcome` …): one name per notice, no second list.
pub fn notice_kind(n: &shikayat_core::catalogue::Notice) -> String {
    serde_json::to_value(n)
        .ok()
        .and_then(|v| v.get("notice").and_then(|k| k.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "notice".into())
}
