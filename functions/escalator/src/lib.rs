//! The escalator, run on a schedule: complaints whose report is overdue go up the chain. It
//! reads open complaints by due date through the store's index, never a scan, and is idempotent:
//! a complaint already escalated to a level is not escalated to it again.

use shikayat_core::catalogue::Notice;
use shikayat_core::command::{Command, Outbound};
use shikayat_core::complaint::{Actor, Status};
use shikayat_core::config::Role;
use shikayat_core::lifecycle::{apply, Event};
use shikayat_core::ports::{PortError, Ports};
use shikayat_core::CoreError;
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
    pub escalated: usize,
}

const BATCH: usize = 500;

pub async fn sweep(p: &Ports) -> Result<Sweep, EscalatorError> {
    let now = p.clock.now();
    let mut out = Sweep::default();
    for mut c in p.complaints.open_due_before(now, BATCH).await? {
        out.examined += 1;
        // First breach only; the chain beyond level 1 is the escalation policy's next step.
        if c.status != Status::Forwarded || c.escalation_level >= 1 {
            continue;
        }
        let up = match &c.officer {
            Some(o) => p.directory.person(o).await?.and_then(|x| x.reports_to),
            None => None,
        };
        let to = up
            .as_ref()
            .map(|x| x.masked())
            .unwrap_or_else(|| "control room".into());
        let entry = apply(&mut c, Event::Escalate { level: 1, to }, Actor::System, now)?;
        match p.complaints.update(&mut c, &[entry]).await {
            Ok(()) => {}
            Err(PortError::Conflict(_)) => continue, // changed under us; the next sweep looks again
            Err(e) => return Err(e.into()),
        }
        let notice = Notice::Overdue {
            id: c.id.clone(),
            department: c.department.clone(),
            due_at: c.due_at,
            level: 1,
        };
        let mut recipients: Vec<_> = p
            .directory
            .with_role(Role::ControlRoom)
            .await?
            .into_iter()
            .map(|x| x.phone)
            .collect();
        recipients.extend(up);
        for to in recipients {
            let key = format!("overdue:{}:1:{}", c.id, to.as_str());
            let cmd = Command::Tell {
                to,
                complaint: Some(c.id.clone()),
                notice: notice.clone(),
            };
            p.queue.send(&Outbound::relay(key, cmd)).await?;
        }
        out.escalated += 1;
        tracing::info!(complaint = %c.id, "escalated: report overdue");
    }
    Ok(out)
}
