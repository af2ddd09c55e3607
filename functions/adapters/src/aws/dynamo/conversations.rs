//! `Conversations` on the conversations table (key `phone`), written conditionally on `version`.
//! Besides `doc`, the item shows what an administrator would look for: the 24-hour window's
//! start, the open drafts and the question we are waiting on.
//!
//! Both kinds of item are transient and carry `expires_at` (epoch seconds), the table's TTL
//! attribute: a conversation `CONVERSATION_TTL_DAYS` after it was last written (a citizen who
//! comes back later starts afresh; their complaints are in the register), a pacing slot a day
//! after its slot time. DynamoDB deletes expired items within days, not at once; until then
//! they read as they were, which is harmless (each write moves the expiry on).

use async_trait::async_trait;
use shikayat_core::conversation::{Conversation, Pending};
use shikayat_core::ids::Phone;
use shikayat_core::ports::{Conversations, PortError, PortResult};

use super::{doc, get_n, n, put_opt, s, to_json, ts, DynamoStore, Item};
use crate::aws::error::{code, port_err};

/// How long a conversation nobody writes to is kept: its drafts settle in minutes, its questions
/// are answered in days and the 24-hour window is a day; half a year is far beyond all of them.
pub const CONVERSATION_TTL_DAYS: i64 = 180;
/// How long a pacing slot is kept after its time: a day is far beyond any pair-rate wait.
const PACING_TTL_DAYS: i64 = 1;

fn expires_at(from: chrono::DateTime<chrono::Utc>, days: i64) -> String {
    (from + chrono::Duration::days(days)).timestamp().to_string()
}

fn question(p: &Pending) -> &'static str {
    match p {
        Pending::SameOrNew { .. } => "same_or_new",
        Pending::DissatisfactionReason { .. } => "dissatisfaction_reason",
        Pending::WhichComplaint { .. } => "which_complaint",
    }
}

#[async_trait]
impl Conversations for DynamoStore {
    async fn get(&self, phone: &Phone) -> PortResult<Conversation> {
        let out = self
            .client
            .get_item()
            .table_name(self.names.conversations())
            .key("phone", s(phone.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| port_err("get conversation", e))?;
        match out.item {
            None => Ok(Conversation::new(phone.clone())),
            Some(item) => {
                let mut c: Conversation = doc(&item, "conversation")?;
                if let Some(v) = get_n(&item, "version") {
                    c.version = v;
                }
                Ok(c)
            }
        }
    }

    async fn put(&self, c: &mut Conversation) -> PortResult<()> {
        let expected = c.version;
        let mut stored = c.clone();
        stored.version = expected + 1;
        let mut item = Item::new();
        item.insert("phone".into(), s(c.phone.as_str()));
        item.insert("version".into(), n(expected + 1));
        put_opt(&mut item, "last_inbound_at", c.last_inbound_at.map(ts));
        put_opt(
            &mut item,
            "draft_complaint",
            c.draft.as_ref().map(|d| d.complaint.to_string()),
        );
        put_opt(
            &mut item,
            "draft_settles_at",
            c.draft.as_ref().map(|d| ts(d.settles_at)),
        );
        put_opt(
            &mut item,
            "report_draft_complaint",
            c.report_draft.as_ref().map(|d| d.complaint.to_string()),
        );
        put_opt(
            &mut item,
            "pending",
            c.pending.as_ref().map(|p| question(p).to_string()),
        );
        item.insert("doc".into(), s(to_json(&stored, "conversation")?));
        item.insert(
            "expires_at".into(),
            n(expires_at(chrono::Utc::now(), CONVERSATION_TTL_DAYS)),
        );
        let mut req = self
            .client
            .put_item()
            .table_name(self.names.conversations())
            .set_item(Some(item));
        req = if expected == 0 {
            req.condition_expression("attribute_not_exists(phone)")
        } else {
            req.condition_expression("version = :expected")
                .expression_attribute_values(":expected", n(expected))
        };
        match req.send().await {
            Ok(_) => {
                c.version = expected + 1;
                Ok(())
            }
            Err(e) if code(&e) == Some("ConditionalCheckFailedException") => {
                // No number, not even masked: the caller's span names the person by keyed-hash id.
                Err(PortError::Conflict(format!(
                    "the conversation moved past version {expected}"
                )))
            }
            Err(e) => Err(port_err("put conversation", e)),
        }
    }

    /// On an item of its own in the conversations table (`pace#<id>`, the person's keyed-hash
    /// id), so the conversation's version never moves for a send; written conditionally on the
    /// time it was read.
    async fn take_send_slot(
        &self,
        who: &str,
        now: chrono::DateTime<chrono::Utc>,
        rate: shikayat_core::pacing::PairRate,
    ) -> PortResult<Result<(), chrono::Duration>> {
        let key = format!("pace#{who}");
        loop {
            let out = self
                .client
                .get_item()
                .table_name(self.names.conversations())
                .key("phone", s(&key))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| port_err("get pacing", e))?;
            let stored: Option<i64> = out.item.as_ref().and_then(|i| get_n(i, "tat_ms"));
            let tat = stored.and_then(chrono::DateTime::from_timestamp_millis);
            let next = match shikayat_core::pacing::take(tat, now, rate) {
                Ok(next) => next,
                Err(wait) => return Ok(Err(wait)),
            };
            let mut req = self
                .client
                .update_item()
                .table_name(self.names.conversations())
                .key("phone", s(&key))
                .update_expression("SET tat_ms = :next, expires_at = :expires")
                .expression_attribute_values(":next", n(next.timestamp_millis()))
                .expression_attribute_values(":expires", n(expires_at(next, PACING_TTL_DAYS)));
            req = match stored {
                None => req.condition_expression("attribute_not_exists(tat_ms)"),
                Some(old) => req
                    .condition_expression("tat_ms = :old")
                    .expression_attribute_values(":old", n(old)),
            };
            match req.send().await {
                Ok(_) => return Ok(Ok(())),
                // Another consumer took a slot meanwhile: read again.
                Err(e) if code(&e) == Some("ConditionalCheckFailedException") => continue,
                Err(e) => return Err(port_err("take send slot", e)),
            }
        }
    }
}
