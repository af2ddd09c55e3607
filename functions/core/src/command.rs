//! Commands on the queues: small versioned JSON, never media. Every consumer is idempotent on
//! the envelope's `key`.

use serde::{Deserialize, Serialize};

use crate::catalogue::Notice;
use crate::ids::{ComplaintId, Phone};
use crate::inbound::InboundEvent;

pub const VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueName {
    /// FIFO, grouped by sender: the webhook's events for the router.
    Inbound,
    /// To the officer-relay: everything said to officers, control room and supervisors.
    Relay,
    /// To the notifier: everything said to citizens.
    Notify,
}

impl QueueName {
    pub const ALL: [QueueName; 3] = [QueueName::Inbound, QueueName::Relay, QueueName::Notify];

    pub fn as_str(self) -> &'static str {
        match self {
            QueueName::Inbound => "inbound",
            QueueName::Relay => "relay",
            QueueName::Notify => "notify",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Command {
    /// One webhook event (router).
    Inbound { event: InboundEvent },
    /// The complainant's burst may have settled: route and forward it (officer-relay).
    /// `settles_at` is the settle time this command was scheduled for: only the command of the
    /// latest schedule acts, so two settles firing together cannot both forward.
    SettleComplaint {
        id: ComplaintId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        settles_at: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// Send the complaint to its assigned officer (officer-relay).
    ForwardComplaint { id: ComplaintId },
    /// The officer accepted: send the full text and every piece of media (officer-relay).
    SendDetails { id: ComplaintId },
    /// The officer's report burst may have settled (officer-relay); `settles_at` as above.
    SettleReport {
        id: ComplaintId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        settles_at: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// The report with its evidence and the feedback buttons to the complainant (notifier).
    DeliverReport { id: ComplaintId },
    /// Tell one person something (either consumer).
    Tell {
        to: Phone,
        complaint: Option<ComplaintId>,
        notice: Notice,
    },
}

impl Command {
    pub fn kind(&self) -> &'static str {
        match self {
            Command::Inbound { .. } => "inbound",
            Command::SettleComplaint { .. } => "settle_complaint",
            Command::ForwardComplaint { .. } => "forward_complaint",
            Command::SendDetails { .. } => "send_details",
            Command::SettleReport { .. } => "settle_report",
            Command::DeliverReport { .. } => "deliver_report",
            Command::Tell { .. } => "tell",
        }
    }

    pub fn complaint(&self) -> Option<&ComplaintId> {
        match self {
            Command::Inbound { .. } => None,
            Command::SettleComplaint { id, .. }
            | Command::ForwardComplaint { id }
            | Command::SendDetails { id }
            | Command::SettleReport { id, .. }
            | Command::DeliverReport { id } => Some(id),
            Command::Tell { complaint, .. } => complaint.as_ref(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub v: u32,
    pub key: String,
    #[serde(flatten)]
    pub command: Command,
}

impl Envelope {
    pub fn new(key: impl Into<String>, command: Command) -> Self {
        Self {
            v: VERSION,
            key: key.into(),
            command,
        }
    }

    pub fn to_json(&self) -> String {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(s: &str) -> Result<Self, crate::CoreError> {
        let env: Envelope =
            serde_json::from_str(s).map_err(|e| crate::CoreError::Malformed(e.to_string()))?;
        if env.v != VERSION {
            return Err(crate::CoreError::Malformed(format!(
                "unknown command version {}",
                env.v
            )));
        }
        Ok(env)
    }
}

/// A command written in the same atomic write as the state change that caused it (the outbox),
/// and put on its queue once that write has committed. A retry sends what is still pending.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxItem {
    pub queue: QueueName,
    pub envelope: Envelope,
    /// Not before this time (the settle window); None: at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl OutboxItem {
    /// The queue send for it at `now`: what is left of its delay (SQS allows 15 minutes at most).
    pub fn outbound(&self, now: chrono::DateTime<chrono::Utc>) -> Outbound {
        let delay = self
            .visible_at
            .map(|t| (t - now).num_seconds().clamp(0, 900) as u32)
            .unwrap_or(0);
        Outbound {
            queue: self.queue,
            envelope: self.envelope.clone(),
            group: None,
            delay_seconds: delay,
        }
    }
}

/// A command to put on a queue, with SQS-like options.
#[derive(Debug, Clone, PartialEq)]
pub struct Outbound {
    pub queue: QueueName,
    pub envelope: Envelope,
    /// FIFO message group (the sender), for the inbound queue.
    pub group: Option<String>,
    /// Seconds before it becomes visible (the settle window).
    pub delay_seconds: u32,
}

impl Outbound {
    pub fn relay(key: impl Into<String>, command: Command) -> Self {
        Self {
            queue: QueueName::Relay,
            envelope: Envelope::new(key, command),
            group: None,
            delay_seconds: 0,
        }
    }

    pub fn notify(key: impl Into<String>, command: Command) -> Self {
        Self {
            queue: QueueName::Notify,
            envelope: Envelope::new(key, command),
            group: None,
            delay_seconds: 0,
        }
    }

    pub fn delayed(mut self, seconds: u32) -> Self {
        self.delay_seconds = seconds;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_round_trip_and_check_version() {
        let env = Envelope::new(
            "settle:AMT-2026-000001",
            Command::SettleComplaint {
                id: ComplaintId::new("AMT", 2026, 1),
                settles_at: None,
            },
        );
        let json = env.to_json();
        assert_eq!(
            json,
            r#"{"v":1,"key":"settle:AMT-2026-000001","kind":"settle_complaint","id":"AMT-2026-000001"}"#
        );
        assert_eq!(Envelope::from_json(&json), Ok(env));
        assert!(Envelope::from_json(&json.replace("\"v\":1", "\"v\":9")).is_err());
        assert!(Envelope::from_json("{}").is_err());
    }
}
