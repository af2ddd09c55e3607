//! The webhook: Meta's GET handshake, and on POST the signature check over the raw bytes, the
//! split into one event per message and status, and the enqueue. No other I/O on this path, so
//! Meta gets its 200 fast; everything else happens behind the inbound queue.

pub mod lambda;

use shikayat_core::command::{Command, Envelope, Outbound, QueueName};
use shikayat_core::inbound::{parse_notification_for, DeliveryStatus, InboundEvent};
use shikayat_core::ports::Queue;
use shikayat_core::pseudonym::KeyedHash;
use shikayat_core::signature;

#[derive(Clone)]
pub struct WebhookConfig {
    pub app_secret: String,
    pub verify_token: String,
    /// The district's business number (`WHATSAPP_PHONE_NUMBER_ID`): events for any other number
    /// on the same Meta app are acknowledged and dropped.
    pub phone_number_id: String,
    /// Command keys and FIFO groups are keyed-hash ids, never a wamid or a number.
    pub ids: KeyedHash,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

impl Reply {
    fn new(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            body: body.into(),
        }
    }
}

/// `GET /webhook?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`
pub fn handshake(
    cfg: &WebhookConfig,
    mode: Option<&str>,
    token: Option<&str>,
    challenge: Option<&str>,
) -> Reply {
    match signature::handshake(mode, token, challenge, &cfg.verify_token) {
        Some(c) => Reply::new(200, c),
        None => Reply::new(403, "verification failed"),
    }
}

/// `POST /webhook` with the exact bytes Meta sent.
pub async fn receive(
    cfg: &WebhookConfig,
    queue: &dyn Queue,
    signature_header: Option<&str>,
    body: &[u8],
) -> Reply {
    if !signature::verify(cfg.app_secret.as_bytes(), body, signature_header) {
        tracing::warn!(bytes = body.len(), "webhook signature refused");
        return Reply::new(401, "invalid signature");
    }
    let parsed = match parse_notification_for(body, &cfg.phone_number_id) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "signed webhook body is not JSON");
            return Reply::new(400, "malformed body");
        }
    };
    if parsed.ignored > 0 {
        // Answered 200 all the same: Meta would redeliver anything else for days.
        tracing::info!(
            ignored = parsed.ignored,
            "events for another business number (metadata.phone_number_id) ignored"
        );
    }
    let mut batch = Vec::with_capacity(parsed.events.len());
    for event in parsed.events {
        // Only what the desk acts on goes through the queue: a failed send is recorded and told
        // to the control room; `sent`, `delivered` and `read` change nothing, and would be three
        // queue messages and three router runs for every message we send.
        if let InboundEvent::Status(s) = &event {
            if s.status != DeliveryStatus::Failed {
                continue;
            }
        }
        let (key, group) = keys(&cfg.ids, &event);
        batch.push(Outbound {
            queue: QueueName::Inbound,
            envelope: Envelope::new(key, Command::Inbound { event }),
            group: Some(group),
            delay_seconds: 0,
        });
    }
    // One `SendMessageBatch` for the notification (another per ten events beyond the first
    // ten). Any failed entry is not 200: Meta redelivers the whole notification, and the FIFO
    // dedupe ids (the events' keys) make what already went through a no-op.
    if let Err(e) = queue.send_batch(&batch).await {
        tracing::error!(error = %e, events = batch.len(), "enqueue failed; asking Meta to redeliver");
        return Reply::new(500, "try again");
    }
    Reply::new(200, "ok")
}

/// The event's dedupe key and FIFO group: the keyed-hash ids of its wamid and of the person, so
/// the queue (its deduplication ids, its group ids, the consumers' logs) never holds a number.
fn keys(ids: &KeyedHash, event: &InboundEvent) -> (String, String) {
    match event {
        InboundEvent::Message(m) => (ids.wamid(&m.wamid), ids.party(&m.sender.key())),
        InboundEvent::Status(s) => (
            format!("{}#{}", ids.wamid(&s.wamid), s.status.as_str()),
            ids.party(&s.recipient),
        ),
    }
}
