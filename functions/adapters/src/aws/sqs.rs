//! `SqsQueue`: the `Queue` port (what every function sends) and `QueueConsumer` (what the local
//! runner's pollers use with `SHIKAYAT_BACKEND=aws`; Lambda receives through its event source
//! mapping instead) on the three SQS queues.
//!
//! - `inbound` is FIFO: `MessageGroupId` = `Outbound.group` (the sender), deduplication id =
//!   the envelope key (SQS drops a repeat within 5 minutes, as the embedded queue does).
//! - `relay` and `notify` are standard queues: `DelaySeconds` = `Outbound.delay_seconds`.
//! - Redrive to each queue's DLQ after 5 receives is the queues' own policy (see `provision`).

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, MessageSystemAttributeName, SendMessageBatchRequestEntry,
};
use sha2::{Digest, Sha256};
use shikayat_core::command::{Outbound, QueueName};
use shikayat_core::ports::{PortError, PortResult, Queue};

use super::error::port_err;
use super::{AwsClients, AwsNames};
use crate::consumer::{Delivery, QueueConsumer};

/// SQS's longest per-message delay. The settle window (2 minutes by default) is well inside
/// it; a longer delay is sent at 15 minutes, and the consumer, which re-reads the complaint's
/// `settles_at`, simply finds it early and puts it back.
pub const MAX_DELAY_SECONDS: u32 = 900;
/// How long a message polled by the local runner stays hidden (`poll_for_local_runner`). The
/// queues' own timeouts are sized for Lambda (six times a function's timeout, up to 12 minutes);
/// a runner killed mid-batch would otherwise hold those messages, and their senders' FIFO groups,
/// for that long.
pub const LOCAL_POLL_VISIBILITY_SECONDS: i32 = 60;
/// Long-poll wait per receive: short, so a poller stops promptly when the runner shuts down.
const WAIT_SECONDS: i32 = 1;
/// SQS's batch limit.
const MAX_BATCH: usize = 10;

#[derive(Clone, Debug)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    urls: HashMap<QueueName, String>,
    dead_letter_urls: HashMap<QueueName, String>,
    /// A visibility timeout for `receive` in place of the queue's own (None: the queue's).
    poll_visibility: Option<i32>,
}

/// SQS accepts ids of 1–128 characters from `[A-Za-z0-9]` and ASCII punctuation. A key that
/// fits is used as it is (readable in the console); any other becomes its sha256 in hex, so the
/// same key always maps to the same id and deduplication still works.
pub(crate) fn sqs_id(raw: &str) -> String {
    let fits = !raw.is_empty()
        && raw.len() <= 128
        && raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c.is_ascii_punctuation());
    if fits {
        raw.to_string()
    } else {
        hex::encode(Sha256::digest(raw.as_bytes()))
    }
}

impl SqsQueue {
    /// The local runner's polling: messages hidden for `LOCAL_POLL_VISIBILITY_SECONDS`.
    pub fn poll_for_local_runner(&mut self) {
        self.poll_visibility = Some(LOCAL_POLL_VISIBILITY_SECONDS);
    }

    /// Resolves every queue URL once, so sends do no lookups. A URL given in the environment
    /// (`SHIKAYAT_INBOUND_QUEUE_URL`, `SHIKAYAT_INBOUND_DLQ_URL`, … as the IaC sets them) is
    /// taken as it is: no network call, which keeps a Lambda's cold start short.
    pub async fn new(clients: &AwsClients, names: &AwsNames) -> PortResult<Self> {
        let client = clients.sqs.clone();
        let mut urls = HashMap::new();
        let mut dead_letter_urls = HashMap::new();
        for q in QueueName::ALL {
            let upper = q.as_str().to_ascii_uppercase();
            let main = match given(&format!("SHIKAYAT_{upper}_QUEUE_URL")) {
                Some(url) => url,
                None => url_of(&client, &names.queue(q)).await?,
            };
            let dead = match given(&format!("SHIKAYAT_{upper}_DLQ_URL")) {
                Some(url) => url,
                None => url_of(&client, &names.dead_letter_queue(q)).await?,
            };
            urls.insert(q, main);
            dead_letter_urls.insert(q, dead);
        }
        Ok(Self {
            client,
            urls,
            dead_letter_urls,
            poll_visibility: None,
        })
    }

    pub fn url(&self, q: QueueName) -> &str {
        self.urls.get(&q).map(String::as_str).unwrap_or_default()
    }

    pub fn dead_letter_url(&self, q: QueueName) -> &str {
        self.dead_letter_urls
            .get(&q)
            .map(String::as_str)
            .unwrap_or_default()
    }
}

fn given(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.trim().is_empty())
}

async fn url_of(client: &aws_sdk_sqs::Client, name: &str) -> PortResult<String> {
    let out = client
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .map_err(|e| port_err(&format!("queue {name}"), e))?;
    out.queue_url
        .ok_or_else(|| PortError::Permanent(format!("queue {name}: no URL returned")))
}

/// What one message carries besides its body: FIFO group and deduplication id on the inbound
/// queue, a delay on the standard ones.
struct Placement {
    group: Option<String>,
    dedupe: Option<String>,
    delay: Option<i32>,
}

/// A per-message delay is a standard-queue feature: on the FIFO queue SQS refuses one, so a
/// delayed inbound command is an error here (the webhook never delays; the embedded queue
/// would honour it).
fn placement(cmd: &Outbound) -> PortResult<Placement> {
    if cmd.queue == QueueName::Inbound {
        if cmd.delay_seconds > 0 {
            return Err(PortError::Permanent(format!(
                "{}: the FIFO inbound queue takes no per-message delay",
                cmd.envelope.key
            )));
        }
        // Without a group every message is its own group: no ordering, as in the embedded queue.
        let group = cmd.group.as_deref().unwrap_or(&cmd.envelope.key);
        Ok(Placement {
            group: Some(sqs_id(group)),
            dedupe: Some(sqs_id(&cmd.envelope.key)),
            delay: None,
        })
    } else {
        let delay = cmd.delay_seconds.min(MAX_DELAY_SECONDS);
        if delay < cmd.delay_seconds {
            tracing::debug!(
                key = cmd.envelope.key,
                asked = cmd.delay_seconds,
                "delay capped at 900 s"
            );
        }
        Ok(Placement {
            group: None,
            dedupe: None,
            delay: Some(delay as i32),
        })
    }
}

/// The ids of a batch's entries: unique within the call, which is all SQS asks.
const ENTRY_IDS: [&str; MAX_BATCH] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
/// SQS's limit on the bodies of one batch together (and on one message): 256 KiB.
const MAX_BATCH_BYTES: usize = 256 * 1024;

#[async_trait]
impl Queue for SqsQueue {
    async fn send(&self, cmd: &Outbound) -> PortResult<()> {
        let p = placement(cmd)?;
        self.client
            .send_message()
            .queue_url(self.url(cmd.queue))
            .message_body(cmd.envelope.to_json())
            .set_message_group_id(p.group)
            .set_message_deduplication_id(p.dedupe)
            .set_delay_seconds(p.delay)
            .send()
            .await
            .map_err(|e| port_err("send", e))?;
        Ok(())
    }

    /// `SendMessageBatch`: up to ten messages to one queue per call, so one call for a
    /// notification of up to ten events. A call whose result lists any failed entry is an
    /// error (the caller retries the whole lot; FIFO dedupe ids make the repeats no-ops).
    async fn send_batch(&self, cmds: &[Outbound]) -> PortResult<()> {
        let mut rest = cmds;
        while let Some(first) = rest.first() {
            let queue = first.queue;
            let mut entries = Vec::with_capacity(rest.len().min(MAX_BATCH));
            let mut bytes = 0;
            let mut taken = 0;
            for cmd in rest.iter().take(MAX_BATCH) {
                if cmd.queue != queue {
                    break;
                }
                let body = cmd.envelope.to_json();
                if taken > 0 && bytes + body.len() > MAX_BATCH_BYTES {
                    break;
                }
                bytes += body.len();
                let p = placement(cmd)?;
                let entry = SendMessageBatchRequestEntry::builder()
                    .id(ENTRY_IDS[taken])
                    .message_body(body)
                    .set_message_group_id(p.group)
                    .set_message_deduplication_id(p.dedupe)
                    .set_delay_seconds(p.delay)
                    .build()
                    .map_err(|e| PortError::Permanent(format!("send batch: {e}")))?;
                entries.push(entry);
                taken += 1;
            }
            let out = self
                .client
                .send_message_batch()
                .queue_url(self.url(queue))
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| port_err("send batch", e))?;
            if let Some(failed) = out.failed.first() {
                // Codes only: an entry's message could quote what it was sent.
                let all_sender = out.failed.iter().all(|f| f.sender_fault);
                let detail = format!(
                    "send batch: {} of {taken} entries failed (first: {})",
                    out.failed.len(),
                    failed.code
                );
                return Err(if all_sender {
                    PortError::Permanent(detail)
                } else {
                    PortError::Transient(detail)
                });
            }
            rest = &rest[taken..];
        }
        Ok(())
    }
}

#[async_trait]
impl QueueConsumer for SqsQueue {
    fn receives_while_busy(&self) -> bool {
        false
    }

    async fn receive(&self, queue: QueueName, max: usize) -> PortResult<Vec<Delivery>> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let out = self
            .client
            .receive_message()
            .queue_url(self.url(queue))
            .max_number_of_messages(max.min(MAX_BATCH) as i32)
            .wait_time_seconds(WAIT_SECONDS)
            .set_visibility_timeout(self.poll_visibility)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
            .send()
            .await
            .map_err(|e| port_err("receive", e))?;
        Ok(out
            .messages
            .unwrap_or_default()
            .into_iter()
            .filter_map(|m| {
                let attribute = |name| m.attributes().and_then(|a| a.get(&name));
                let receive_count = attribute(MessageSystemAttributeName::ApproximateReceiveCount)
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(1);
                let group = attribute(MessageSystemAttributeName::MessageGroupId).cloned();
                Some(Delivery {
                    queue,
                    receipt: m.receipt_handle?,
                    body: m.body.unwrap_or_default(),
                    receive_count,
                    group,
                })
            })
            .collect())
    }

    async fn ack(&self, d: &Delivery) -> PortResult<()> {
        self.client
            .delete_message()
            .queue_url(self.url(d.queue))
            .receipt_handle(&d.receipt)
            .send()
            .await
            .map_err(|e| port_err("ack", e))?;
        Ok(())
    }

    /// Visible again after `delay` (SQS caps a visibility timeout at 12 hours).
    async fn release(&self, d: &Delivery, delay: Duration) -> PortResult<()> {
        let secs = delay.as_secs().min(12 * 3600) as i32;
        self.client
            .change_message_visibility()
            .queue_url(self.url(d.queue))
            .receipt_handle(&d.receipt)
            .visibility_timeout(secs)
            .send()
            .await
            .map_err(|e| port_err("release", e))?;
        Ok(())
    }

    /// Reads the DLQ without deleting: receives page by page (each page hidden for a moment so
    /// the next receive returns the following messages), then makes every one visible again.
    /// On the FIFO DLQ a group's messages beyond the first page of that group may be missed
    /// while its head is hidden; this is for tests and operators, not for processing.
    async fn dead_letters(&self, queue: QueueName) -> PortResult<Vec<String>> {
        let url = self.dead_letter_url(queue).to_string();
        let mut bodies = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut handles = Vec::new();
        for _ in 0..100 {
            let out = self
                .client
                .receive_message()
                .queue_url(&url)
                .max_number_of_messages(MAX_BATCH as i32)
                .visibility_timeout(30)
                .send()
                .await
                .map_err(|e| port_err("read dead letters", e))?;
            let msgs = out.messages.unwrap_or_default();
            if msgs.is_empty() {
                break;
            }
            for m in msgs {
                if let Some(h) = m.receipt_handle {
                    handles.push(h);
                }
                if seen.insert(m.message_id.unwrap_or_default()) {
                    bodies.push(m.body.unwrap_or_default());
                }
            }
        }
        for chunk in handles.chunks(MAX_BATCH) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(h)
                        .visibility_timeout(0)
                        .build()
                        .map_err(|e| PortError::Permanent(format!("dead letters: {e}")))
                })
                .collect::<PortResult<Vec<_>>>()?;
            self.client
                .change_message_visibility_batch()
                .queue_url(&url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| port_err("dead letters: make visible", e))?;
        }
        Ok(bodies)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_kept_when_sqs_accepts_them_and_hashed_otherwise() {
        assert_eq!(sqs_id("wamid.HBgM=="), "wamid.HBgM==");
        assert_eq!(sqs_id("status:wamid.X:read"), "status:wamid.X:read");
        let long = "k".repeat(129);
        assert_eq!(sqs_id(&long).len(), 64);
        assert_eq!(sqs_id(&long), sqs_id(&long));
        assert_ne!(sqs_id("स्थिति"), "स्थिति");
        assert_ne!(sqs_id("a b"), sqs_id("a_b"));
        assert_eq!(sqs_id("").len(), 64);
    }
}
