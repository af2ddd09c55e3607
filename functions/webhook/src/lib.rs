//! The webhook: Meta's GET handshake, and on POST the signature check over the raw bytes, the
//! split into one event per message and status, and the enqueue. No other I/O on this path, so
//! Meta gets its 200 fast; everything else happens behind the inbound queue.

pub mod lambda;

use shikayat_core::command::{Command, Envelope, Outbound, QueueName};
use shikayat_core::inbound::parse_notification;
use shikayat_core::ports::Queue;
use shikayat_core::signature;

#[derive(Clone)]
pub struct WebhookConfig {
    pub app_secret: String,
    pub verify_token: String,
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
    let events = match parse_notification(body) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(error = %e, "signed webhook body is not JSON");
            return Reply::new(400, "malformed body");
        }
    };
    for event in events {
        let key = event.dedupe_key();
        let group = event.party();
        let out = Outbound {
            queue: QueueName::Inbound,
            envelope: Envelope::new(key, Command::Inbound { event }),
            group: Some(group),
            delay_seconds: 0,
        };
        // Not 200: Meta redelivers the whole notification, and the FIFO key dedupes what
        // already went through.
        if let Err(e) = queue.send(&out).await {
            tracing::error!(error = %e, "enqueue failed; asking Meta to redeliver");
            return Reply::new(500, "try again");
        }
    }
    Reply::new(200, "ok")
}
