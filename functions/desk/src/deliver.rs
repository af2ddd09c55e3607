//! Sending rendered messages to one person: the 24-hour window (template outside it), stored
//! media uploaded first, pacing per person, resuming a retried command without resending what
//! already went, and permanent failures recorded on the complaint and told to the control room.

use shikayat_core::catalogue::{render, Notice};
use shikayat_core::complaint::Actor;
use shikayat_core::config::Role;
use shikayat_core::ids::mask_numbers;
use shikayat_core::inbound::DeliveryStatus;
use shikayat_core::lifecycle::Event;
use shikayat_core::outbound::{MediaSource, OutboundMessage, Rendered};
use shikayat_core::ports::{OutboundRecord, PortError, Ports, SendError};
use shikayat_core::{ComplaintId, Phone};

use crate::outbox::transition;
use crate::{DeskError, DeskResult};

/// Renders a notice and delivers it to one person: the `tell` command of either consumer.
pub async fn tell(
    p: &Ports,
    key: &str,
    to: &Phone,
    complaint: Option<&ComplaintId>,
    notice: &Notice,
) -> DeskResult<Delivered> {
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
pub fn notice_kind(n: &Notice) -> String {
    serde_json::to_value(n)
        .ok()
        .and_then(|v| v.get("notice").and_then(|k| k.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "notice".into())
}

/// How a delivery ended when it did not need a retry.
#[derive(Debug, PartialEq)]
pub enum Delivered {
    /// Every message accepted by WhatsApp (wamids in order); `via_template` when the window was
    /// closed and the notice's template went instead of its free-form messages.
    Sent { wamids: Vec<String>, via_template: bool },
    /// Will never arrive as asked; recorded and told to the control room.
    Failed { code: Option<i64>, detail: String },
}

/// One person, one rendered notice, under a command key.
pub struct Delivery<'a> {
    pub key: &'a str,
    pub to: &'a Phone,
    pub complaint: Option<&'a ComplaintId>,
    /// What it is, for the outbound log (`ack`, `new_complaint`, `report` …).
    pub kind: &'a str,
    pub rendered: Rendered,
}

pub async fn deliver(p: &Ports, d: Delivery<'_>) -> DeskResult<Delivered> {
    let now = p.clock.now();
    let conv = p.conversations.get(d.to).await?;
    let free_form = conv.window_open(now)
        && !d.rendered.free_form.is_empty()
        && !p.messages.is_done(&window_closed_mark(d.key)).await?;
    let (messages, via_template) = if free_form {
        (d.rendered.free_form.clone(), false)
    } else if let Some(t) = d.rendered.template.clone() {
        (vec![t.into()], true)
    } else {
        return fail(
            p,
            &d,
            Some(131047),
            "outside the 24-hour window and no template for this message".into(),
        )
        .await;
    };
    let mut wamids = Vec::new();
    for (i, out) in messages.iter().enumerate() {
        let part = i as u32 + if via_template { 100 } else { 0 };
        if let Some(done) = p.messages.outbound_part(d.key, part).await? {
            wamids.push(done.wamid);
            continue;
        }
        let msg = match upload_if_stored(p, &out.message).await {
            Ok(msg) => msg,
            // Meta will never take this file (type or size): recorded and told, not retried.
            Err(DeskError::Send(SendError::Permanent { code, detail })) => {
                return fail(p, &d, code, detail).await
            }
            Err(e) => return Err(e),
        };
        // Pacing is a schedule, not a sleep: too early, and the command goes back on its queue
        // with the wait as its delay; the parts already sent are not sent again.
        if let Err(wait) = p
            .conversations
            .take_send_slot(&p.ids.phone(d.to), p.clock.now(), p.settings.pair_rate())
            .await?
        {
            return Err(DeskError::Later(wait));
        }
        let sent = p.whatsapp.send(d.to, &msg, out.reply_to.as_deref()).await;
        let wamid = match sent {
            Ok(w) => w,
            // Our window record can lag Meta's: the template is the way through.
            Err(SendError::Permanent {
                code: Some(131047), ..
            }) if !via_template && d.rendered.template.is_some() => {
                // Remembered for this command: its retry (pacing may send it back to the
                // queue) goes straight to the template instead of meeting 131047 again.
                p.messages.mark_done(&window_closed_mark(d.key)).await?;
                let rendered = Rendered {
                    free_form: Vec::new(),
                    template: d.rendered.template.clone(),
                };
                return Box::pin(deliver(p, Delivery { rendered, ..d })).await;
            }
            Err(SendError::Permanent { code, detail }) => return fail(p, &d, code, detail).await,
            Err(e @ SendError::Retryable { .. }) => return Err(DeskError::Send(e)),
        };
        let rec = OutboundRecord {
            wamid: wamid.clone(),
            to: d.to.clone(),
            complaint: d.complaint.cloned(),
            kind: d.kind.to_string(),
            command_key: d.key.to_string(),
            part,
            status: DeliveryStatus::Accepted,
            error: None,
            at: p.clock.now(),
        };
        record_sent(p, &rec).await?;
        wamids.push(wamid);
    }
    Ok(Delivered::Sent { wamids, via_template })
}

/// Meta said the window is closed while our record said open, for this command.
fn window_closed_mark(key: &str) -> String {
    format!("window-closed:{key}")
}

/// Records a message Meta has accepted. It is already on its way, so a failed record would make
/// the retry send it twice: a transient failure is tried again here, with a short backoff, before
/// the command is given back to its queue.
async fn record_sent(p: &Ports, rec: &OutboundRecord) -> DeskResult<()> {
    let mut wait = std::time::Duration::from_millis(100);
    for _ in 0..4 {
        match p.messages.record_outbound(rec).await {
            Err(PortError::Transient(e)) => {
                tracing::warn!(error = %mask_numbers(&e), "recording a sent message failed; trying again");
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            other => return Ok(other?),
        }
    }
    Ok(p.messages.record_outbound(rec).await?)
}

/// A stored file (a media message, or a template's or buttons' media header) is uploaded to WhatsApp first:
/// Meta takes media by its own id, never by a public link to ours.
async fn upload_if_stored(p: &Ports, msg: &OutboundMessage) -> DeskResult<OutboundMessage> {
    let mut out = msg.clone();
    let file = match &mut out {
        OutboundMessage::Media {
            media,
            mime_type,
            filename,
            ..
        } => Some((media, &*mime_type, &*filename)),
        other => other
            .header_mut()
            .map(|h| (&mut h.media, &h.mime_type, &h.filename)),
    };
    if let Some((media, mime_type, filename)) = file {
        if let MediaSource::Stored { key } = media {
            let id = upload(p, key, mime_type, filename.as_deref()).await?;
            *media = MediaSource::Uploaded { id };
        }
    }
    Ok(out)
}

/// Uploads one stored file; the type it was stored with wins over the one recorded for it.
async fn upload(p: &Ports, key: &str, mime_type: &str, filename: Option<&str>) -> DeskResult<String> {
    let (bytes, content_type) = p.media.get(key).await?;
    let name = filename
        .map(str::to_owned)
        .unwrap_or_else(|| key.rsplit('/').next().unwrap_or("file").to_string());
    let mime = if content_type.is_empty() {
        mime_type.to_string()
    } else {
        content_type
    };
    p.whatsapp
        .upload_media(bytes, &mime, &name)
        .await
        .map_err(DeskError::Send)
}

/// Records a permanent failure on the complaint and tells the control room — unless the
/// failed recipient is the control room itself (no loop).
async fn fail(p: &Ports, d: &Delivery<'_>, code: Option<i64>, detail: String) -> DeskResult<Delivered> {
    tracing::warn!(to = %p.ids.phone(d.to), code, detail = %mask_numbers(&detail), kind = d.kind, "delivery failed for good");
    record_failure(p, d.key, d.to, d.complaint, code, &detail).await?;
    Ok(Delivered::Failed { code, detail })
}

pub async fn record_failure(
    p: &Ports,
    key: &str,
    to: &Phone,
    complaint: Option<&ComplaintId>,
    code: Option<i64>,
    detail: &str,
) -> DeskResult<()> {
    let Some(id) = complaint else { return Ok(()) };
    let marker = format!("failed:{key}:{}", p.ids.phone(to));
    if p.messages.is_done(&marker).await? {
        return Ok(());
    }
    let what = format!(
        "to {} ({}): {}",
        to.masked(),
        code.map(|c| c.to_string()).unwrap_or_default(),
        detail
    );
    let to_control_room = p
        .directory
        .person(to)
        .await?
        .is_some_and(|x| x.role == Role::ControlRoom);
    // The control room is told through the transition's outbox (`rules`), with the record.
    let event = Event::DeliveryFailed {
        detail: what,
        who: to.masked(),
        code: code.unwrap_or(0),
        to_control_room,
    };
    match transition(p, id, Actor::System, |_| event.clone()).await {
        Ok(_) | Err(DeskError::NoSuchComplaint(_)) => {}
        Err(e) => return Err(e),
    }
    p.messages.mark_done(&marker).await?;
    Ok(())
}
