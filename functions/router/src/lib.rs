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
use shikayat_core::complaint::{Actor, Complaint};
use shikayat_core::config::Role;
use shikayat_core::conversation::Conversation;
use shikayat_core::inbound::{InboundEvent, InboundMessage, StatusUpdate};
use shikayat_core::lifecycle::Event;
use shikayat_core::ports::{PortError, Ports, SendError};
use shikayat_core::{ComplaintId, CoreError, Phone};
use shikayat_desk::DeskError;
use thiserror::Error;
use tracing::Instrument;

#[derive(Debug, Error)]
pub enum RouterError {
    #[error(transparent)]
    Desk(#[from] DeskError),
    #[error("whatsapp: {0}")]
    Send(SendError),
}

impl From<PortError> for RouterError {
    fn from(e: PortError) -> Self {
        RouterError::Desk(e.into())
    }
}

impl From<CoreError> for RouterError {
    fn from(e: CoreError) -> Self {
        RouterError::Desk(e.into())
    }
}

impl RouterError {
    /// A step the rules refused: answered to the sender, never retried.
    pub fn is_refusal(&self) -> bool {
        matches!(self, RouterError::Desk(e) if e.is_refusal())
    }
}

/// Handles one inbound event; safe to call again with the same event.
pub async fn handle(p: &Ports, event: &InboundEvent) -> Result<(), RouterError> {
    match event {
        InboundEvent::Status(s) => status(p, s).await,
        InboundEvent::Message(m) => {
            let key = format!("in:{}", p.ids.wamid(&m.wamid));
            if p.messages.is_done(&key).await? {
                tracing::info!(message = %p.ids.wamid(&m.wamid), "duplicate delivery ignored");
                return Ok(());
            }
            match message(p, m).await {
                Ok(()) => {}
                // Refused is an answer, not a retry: the sender hears it and the event completes.
                Err(e) if e.is_refusal() => {
                    tracing::info!(error = %e, "refused");
                    let who = Phone::new(&m.sender.key());
                    let official = p.directory.person(&who).await?.is_some();
                    let notice = match &e {
                        RouterError::Desk(DeskError::NoSuchComplaint(_)) => match refused_number(p, m) {
                            Some(id) => Notice::NoSuchComplaint { id },
                            None => Notice::NotAllowed,
                        },
                        _ => Notice::NotAllowed,
                    };
                    let out = reply_command(p, &m.wamid, &who, None, notice, official);
                    p.queue.send(&out).await?;
                }
                Err(e) => return Err(e),
            }
            p.messages.mark_done(&key).await?;
            Ok(())
        }
    }
}

/// The complaint number a refused message named, for the answer.
fn refused_number(p: &Ports, m: &InboundMessage) -> Option<ComplaintId> {
    let code = &p.config.district.code;
    match &m.body {
        shikayat_core::inbound::Body::Interactive { id, .. }
        | shikayat_core::inbound::Body::TemplateButton { payload: id, .. } => ComplaintId::find_in(id, code),
        _ => intake::text_of(m).and_then(|t| ComplaintId::find_in(t, code)),
    }
}

/// A reply that changes no state: keyed by the inbound message, so a redelivery sends it once
/// (by the keyed-hash ids of the message and the person: a key never carries a number).
fn reply_command(
    p: &Ports,
    wamid: &str,
    to: &Phone,
    complaint: Option<&ComplaintId>,
    notice: Notice,
    official: bool,
) -> Outbound {
    let key = format!(
        "tell:{}:{}:{}",
        p.ids.wamid(wamid),
        p.ids.phone(to),
        shikayat_desk::notice_kind(&notice)
    );
    let cmd = Command::Tell {
        to: to.clone(),
        complaint: complaint.cloned(),
        notice,
    };
    if official {
        Outbound::relay(key, cmd)
    } else {
        Outbound::notify(key, cmd)
    }
}

async fn message(p: &Ports, m: &InboundMessage) -> Result<(), RouterError> {
    let who = Phone::new(&m.sender.key());
    if who.as_str().is_empty() {
        // No number and no user id: there is nobody to register a complaint for or to answer.
        tracing::warn!("message from a sender with no number or user id ignored");
        return Ok(());
    }
    let role = p.directory.person(&who).await?.map(|x| x.role);
    // Instrumented, not entered: a span held across an await lends its context to other tasks.
    let span = tracing::info_span!("message", from = %p.ids.phone(&who), role = role.map(|r| r.as_str()).unwrap_or("citizen"));
    handle_message(p, m, who, role).instrument(span).await
}

async fn handle_message(
    p: &Ports,
    m: &InboundMessage,
    who: Phone,
    role: Option<Role>,
) -> Result<(), RouterError> {
    let now = p.clock.now();
    let mut conv = p.conversations.get(&who).await?;
    conv.last_inbound_at = Some(conv.last_inbound_at.map_or(now, |t| t.max(now)));
    // The window is recorded before any reply is queued: a consumer may send the reply before
    // this handler finishes, and must see the window open.
    p.conversations.put(&mut conv).await?;
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
        tracing::debug!(error = %shikayat_core::ids::mask_numbers(&e.to_string()), "mark as read failed");
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
    /// When the person sent it (Meta's timestamp), never later than now: whether a message joins
    /// a burst is the sender's timing, not how long the queue took to hand it to us.
    pub fn sent_at(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp(self.m.timestamp, 0)
            .filter(|t| *t <= self.now)
            .unwrap_or(self.now)
    }

    /// A reply that changes no state (a welcome, a status answer, a question); anything a state
    /// change causes goes through its transition's outbox instead.
    pub async fn reply(
        &self,
        notice: Notice,
        complaint: Option<&ComplaintId>,
        official: bool,
    ) -> Result<(), RouterError> {
        let out = reply_command(self.p, &self.m.wamid, &self.who, complaint, notice, official);
        self.p.queue.send(&out).await?;
        Ok(())
    }
}

/// `desk::transition` with the router's error.
pub(crate) async fn transition(
    p: &Ports,
    id: &ComplaintId,
    actor: Actor,
    event: impl Fn(&Complaint) -> Event,
) -> Result<Complaint, RouterError> {
    Ok(shikayat_desk::transition(p, id, actor, event).await?)
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
        shikayat_desk::record_failure(
            p,
            &format!("status:{}", p.ids.wamid(&s.wamid)),
            &rec.to,
            rec.complaint.as_ref(),
            s.error_code,
            &detail,
        )
        .await?;
    }
    Ok(())
}
