//! `MessageLog` on the messages table (key `wamid`). Three kinds of item, told apart by `record`:
//!
//! - `done`: `wamid = done#<key>` — an inbound dedupe mark or a finished command's key.
//! - `outbound`: `wamid = <wamid>` — what we sent, to whom, for which complaint, and its status.
//! - `part`: `wamid = part#<command key>#<part>`, `sent_as = <wamid>` — finds what a command
//!   already sent when it is retried; written with its `outbound` item in one transaction.
//!
//! All carry `expires_at` (epoch seconds), the table's TTL attribute.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Put, ReturnValue, TransactWriteItem};
use chrono::{DateTime, Utc};
use shikayat_core::ids::{ComplaintId, Phone};
use shikayat_core::inbound::DeliveryStatus;
use shikayat_core::ports::{MessageLog, OutboundRecord, PortError, PortResult};

use super::{build_err, get_n, get_s, n, put_opt, s, ts, DynamoStore, Item};
use crate::aws::error::{code, port_err};

/// How long dedupe marks and the outbound log are kept. Meta redelivers a webhook for up to
/// 7 days and statuses of a message can trail it by days; 90 days leaves room for an
/// administrator to look back at what was sent.
pub const MESSAGE_TTL_DAYS: i64 = 90;

fn expires_at(from: DateTime<Utc>) -> String {
    (from + chrono::Duration::days(MESSAGE_TTL_DAYS))
        .timestamp()
        .to_string()
}

fn done_key(key: &str) -> String {
    format!("done#{key}")
}

fn part_key(key: &str, part: u32) -> String {
    format!("part#{key}#{part}")
}

/// Statuses only move up this order; `failed` is final and beats everything.
fn rank(s: DeliveryStatus) -> u32 {
    match s {
        DeliveryStatus::Accepted => 0,
        DeliveryStatus::Sent => 1,
        DeliveryStatus::Delivered => 2,
        DeliveryStatus::Read => 3,
        DeliveryStatus::Played => 4,
        DeliveryStatus::Failed => 9,
    }
}

fn decode(item: &Item) -> PortResult<OutboundRecord> {
    let wamid = get_s(item, "wamid").unwrap_or_default().to_string();
    // Named by its command key and part, never by the wamid (errors are logged).
    let which = format!(
        "{}#{}",
        get_s(item, "command_key").unwrap_or_default(),
        get_n::<u32>(item, "part").unwrap_or(0)
    );
    let bad = |what: &str| PortError::Permanent(format!("outbound record {which}: {what}"));
    let status = get_s(item, "status").ok_or_else(|| bad("no status"))?;
    let status = DeliveryStatus::parse(status).ok_or_else(|| bad(&format!("unknown status {status:?}")))?;
    let at = get_s(item, "at").ok_or_else(|| bad("no time"))?;
    let at = DateTime::parse_from_rfc3339(at)
        .map_err(|e| bad(&format!("bad time {at:?}: {e}")))?
        .with_timezone(&Utc);
    Ok(OutboundRecord {
        to: Phone::new(get_s(item, "to").unwrap_or_default()),
        complaint: get_s(item, "complaint").and_then(ComplaintId::parse),
        kind: get_s(item, "kind").unwrap_or_default().to_string(),
        command_key: get_s(item, "command_key").unwrap_or_default().to_string(),
        part: get_n(item, "part").unwrap_or(0),
        status,
        error: get_s(item, "error").map(String::from),
        at,
        wamid,
    })
}

impl DynamoStore {
    async fn message_item(&self, key: &str) -> PortResult<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(self.names.messages())
            .key("wamid", s(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| port_err("get message", e))?;
        Ok(out.item)
    }
}

#[async_trait]
impl MessageLog for DynamoStore {
    async fn is_done(&self, key: &str) -> PortResult<bool> {
        Ok(self.message_item(&done_key(key)).await?.is_some())
    }

    async fn mark_done(&self, key: &str) -> PortResult<()> {
        let now = Utc::now();
        let res = self
            .client
            .put_item()
            .table_name(self.names.messages())
            .item("wamid", s(done_key(key)))
            .item("record", s("done"))
            .item("at", s(ts(now)))
            .item("expires_at", n(expires_at(now)))
            // The first mark stands (its time is when the work was done).
            .condition_expression("attribute_not_exists(wamid)")
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if code(&e) == Some("ConditionalCheckFailedException") => Ok(()),
            Err(e) => Err(port_err("mark_done", e)),
        }
    }

    /// Idempotent for the same wamid (keeps the status that arrived since); `Conflict` if
    /// another wamid already holds the same (command_key, part).
    async fn record_outbound(&self, rec: &OutboundRecord) -> PortResult<()> {
        let table = self.names.messages();
        let expires = expires_at(rec.at);
        let mut item = Item::new();
        item.insert("wamid".into(), s(&rec.wamid));
        item.insert("record".into(), s("outbound"));
        item.insert("to".into(), s(rec.to.as_str()));
        put_opt(
            &mut item,
            "complaint",
            rec.complaint.as_ref().map(|c| c.as_str().to_string()),
        );
        item.insert("kind".into(), s(&rec.kind));
        item.insert("command_key".into(), s(&rec.command_key));
        item.insert("part".into(), n(rec.part));
        item.insert("status".into(), s(rec.status.as_str()));
        item.insert("status_rank".into(), n(rank(rec.status)));
        put_opt(&mut item, "error", rec.error.clone());
        item.insert("at".into(), s(ts(rec.at)));
        item.insert("expires_at".into(), n(&expires));
        let record = Put::builder()
            .table_name(&table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(wamid)")
            .build()
            .map_err(build_err)?;
        let part = Put::builder()
            .table_name(&table)
            .item("wamid", s(part_key(&rec.command_key, rec.part)))
            .item("record", s("part"))
            .item("sent_as", s(&rec.wamid))
            .item("at", s(ts(rec.at)))
            .item("expires_at", n(&expires))
            .condition_expression("attribute_not_exists(wamid)")
            .build()
            .map_err(build_err)?;
        let res = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(record).build())
            .transact_items(TransactWriteItem::builder().put(part).build())
            .send()
            .await
            .map_err(|e| port_err("record_outbound", e));
        match res {
            Ok(_) => Ok(()),
            // One of the two exists: the same record again (fine), or another wamid for the part.
            Err(PortError::Conflict(_)) => {
                let holder = self.message_item(&part_key(&rec.command_key, rec.part)).await?;
                match holder.as_ref().and_then(|h| get_s(h, "sent_as")) {
                    Some(w) if w == rec.wamid => Ok(()),
                    // Errors are logged: they name the command and part, never a wamid (it
                    // holds the recipient's number).
                    Some(_) => Err(PortError::Conflict(format!(
                        "part {} of {} was already sent as another message",
                        rec.part, rec.command_key
                    ))),
                    None => Err(PortError::Conflict(format!(
                        "the message sent as part {} of {} is already recorded for another part",
                        rec.part, rec.command_key
                    ))),
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn outbound(&self, wamid: &str) -> PortResult<Option<OutboundRecord>> {
        match self.message_item(wamid).await? {
            Some(item) if get_s(&item, "record") == Some("outbound") => decode(&item).map(Some),
            _ => Ok(None),
        }
    }

    async fn outbound_part(&self, key: &str, part: u32) -> PortResult<Option<OutboundRecord>> {
        let Some(holder) = self.message_item(&part_key(key, part)).await? else {
            return Ok(None);
        };
        match get_s(&holder, "sent_as") {
            Some(w) => self.outbound(w).await,
            None => Ok(None),
        }
    }

    async fn update_status(
        &self,
        wamid: &str,
        status: DeliveryStatus,
        error: Option<String>,
    ) -> PortResult<Option<OutboundRecord>> {
        // Forward only, decided by the table itself: two status webhooks cannot interleave.
        let mut req = self
            .client
            .update_item()
            .table_name(self.names.messages())
            .key("wamid", s(wamid))
            .condition_expression("#record = :outbound AND status_rank < :rank")
            .expression_attribute_names("#record", "record")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":outbound", s("outbound"))
            .expression_attribute_values(":rank", n(rank(status)))
            .expression_attribute_values(":status", s(status.as_str()))
            .return_values(ReturnValue::AllNew);
        req = match error {
            Some(e) => req
                .update_expression("SET #status = :status, status_rank = :rank, #error = :error")
                .expression_attribute_names("#error", "error")
                .expression_attribute_values(":error", s(e)),
            None => req.update_expression("SET #status = :status, status_rank = :rank"),
        };
        match req.send().await {
            Ok(out) => out.attributes.as_ref().map(decode).transpose(),
            // Not newer (or not there): report what is stored.
            Err(e) if code(&e) == Some("ConditionalCheckFailedException") => self.outbound(wamid).await,
            Err(e) => Err(port_err("update_status", e)),
        }
    }
}
