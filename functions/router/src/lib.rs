//! The router: one inbound event at a time, in order per sender (FIFO group). Dedupes on the
//! wamid, keeps each person's 24-hour window, resolves the sender's role, downloads media into
//! the store, registers and updates complaints, and emits commands for the relay and notifier.

mod citizen;
mod control;
mod intake;
pub mod lambda;
mod officer;

use shikayat_core::catalogue::Notice;
use shikayat_core::command::{Command, Outbound};
use shikayat_core::complaint::{Actor, Complaint, TimelineEntry};
use shikayat_core::config::Role;
use shikayat_core::conversation::Conversation;
use shikayat_core::inbound::{InboundEvent, InboundMessage, StatusUpdate};
use shikayat_core::lifecycle::Event;
use shikayat_core::ports::{PortError, Ports, SendError, TransitionError};
use shikayat_core::{ComplaintId, CoreError, Phone};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum RouterError {
    #[error(transparent)]
    Port(#[from] PortError),
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error(transparent)]
    Notify(#[from] shikayat_notifier::NotifyError),
    #[error("whatsapp: {0}")]
    Send(SendError),
}

/// Handles one inbound event; safe to call again with the same event.
pub async fn handle(p: &Ports, event: &InboundEvent) -> Result<(), RouterError> {
    match event {
        InboundEvent::Status(s) => status(p, s).await,
        InboundEvent::Message(m) => {
            let key = format!("in:{}", m.wamid);
            if p.messages.is_done(&key).await? {
                tracing::info!(wamid = %m.wamid, "duplicate delivery ignored");
                return Ok(());
            }
            message(p, m).await?;
            p.messages.mark_done(&key).await?;
            Ok(())
        }
    }
}

async fn message(p: &Ports, m: &InboundMessage) -> Result<(), RouterError> {
    let who = Phone::new(&m.sender.key());
    let now = p.clock.now();
    let mut conv = p.conversations.get(&who).await?;
    conv.last_inbound_at = Some(conv.last_inbound_at.map_or(now, |t| t.max(now)));
    // The window is recorded before any reply is queued: a consumer may send the reply before
    // this handler finishes, and must see the window open.
    p.conversations.put(&mut conv).await?;
    let role = p.directory.person(&who).await?.map(|x| x.role);
    let span =
        tracing::info_span!("message", from = %who, role = role.map(|r| r.as_str()).unwrap_or("citizen"));
    let _enter = span.enter();
    let mut ctx = Ctx {
        p,
        who,
        now,
        conv: &mut conv,
        m,
    };
    match role {
        None => citizen::handle(&mut ctx).await?,
        Some(Role::Officer) => officer::handle(&mut ctx).await?,
        Some(Role::ControlRoom) => control::handle(&mut ctx).await?,
        Some(Role::Supervisor) => control::supervisor(&mut ctx).await?,
    }
    p.conversations.put(&mut conv).await?;
    // Blue ticks are a courtesy: a failure here must not redo the work above.
    if let Err(e) = p.whatsapp.mark_read(&m.wamid).await {
        tracing::debug!(error = %e, "mark as read failed");
    }
    Ok(())
}

/// What every rule needs about the message in hand.
pub(crate) struct Ctx<'a> {
    pub p: &'a Ports,
    pub who: Phone,
    pub now: chrono::DateTime<chrono::Utc>,
    pub conv: &'a mut Conversation,
    pub m: &'a InboundMessage,
}

impl Ctx<'_> {
    /// Tell a citizen (notify queue) or an official (relay queue); the key makes it once-only.
    pub async fn tell(
        &self,
        to: &Phone,
        complaint: Option<&ComplaintId>,
        notice: Notice,
        official: bool,
    ) -> Result<(), RouterError> {
        let key = format!(
            "tell:{}:{}:{}",
            self.m.wamid,
            to.as_str(),
            shikayat_notifier::notice_kind(&notice)
        );
        let cmd = Command::Tell {
            to: to.clone(),
            complaint: complaint.cloned(),
            notice,
        };
        let out = if official {
            Outbound::relay(key, cmd)
        } else {
            Outbound::notify(key, cmd)
        };
        self.p.queue.send(&out).await?;
        Ok(())
    }

    pub async fn reply(
        &self,
        notice: Notice,
        complaint: Option<&ComplaintId>,
        official: bool,
    ) -> Result<(), RouterError> {
        self.tell(&self.who.clone(), complaint, notice, official).await
    }

    pub async fn tell_control_room(&self, id: &ComplaintId, notice: Notice) -> Result<(), RouterError> {
        for cr in self.p.directory.with_role(Role::ControlRoom).await? {
            self.tell(&cr.phone, Some(id), notice.clone(), true).await?;
        }
        Ok(())
    }
}

/// `ports::transition` with the router's error.
pub(crate) async fn transition(
    p: &Ports,
    id: &ComplaintId,
    actor: Actor,
    event: impl Fn(&Complaint) -> Event,
) -> Result<(Complaint, TimelineEntry), RouterError> {
    shikayat_core::ports::transition(p, id, actor, event)
        .await
        .map_err(|e| match e {
            TransitionError::Port(e) => RouterError::Port(e),
            TransitionError::Lifecycle(e) => RouterError::Core(e),
        })
}

/// Delivery statuses update the outbound log; a permanent failure is recorded on the complaint
/// and told to the control room.
async fn status(p: &Ports, s: &StatusUpdate) -> Result<(), RouterError> {
    let error = s
        .error_code
        .map(|c| format!("{c}: {}", s.error_detail.clone().unwrap_or_default()));
    let Some(rec) = p.messages.update_status(&s.wamid, s.status, error).await? else {
        return Ok(()); // not ours, or sent before the log existed
    };
    if s.status == shikayat_core::inbound::DeliveryStatus::Failed {
        let detail = s.error_detail.clone().unwrap_or_else(|| "failed".into());
        shikayat_notifier::deliver::record_failure(
            p,
            &format!("status:{}", s.wamid),
            &rec.to,
            rec.complaint.as_ref(),
            s.error_code,
            &detail,
        )
        .await?;
    }
    Ok(())
}
