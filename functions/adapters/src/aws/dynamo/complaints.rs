//! `ComplaintStore` on the complaints and complaint-events tables.
//!
//! A complaint item carries, besides `doc`, the attributes its indexes need; the sparse ones are
//! present only while they apply, so an index holds only what its query wants:
//!
//! | index | partition | sort | holds |
//! |---|---|---|---|
//! | `by-department` | `department` | `created_at` | every routed complaint (the register) |
//! | `by-complainant` | `complainant` | `created_at` | every complaint |
//! | `by-officer` | `open_officer` | `officer_due` | open complaints with an officer |
//! | `open-by-due` | `open_shard` | `due_at` | open complaints with a deadline |
//! | `open-by-action` | `action_shard` | `next_action_at` | open complaints with something scheduled |
//! | `unassigned` | `unassigned_shard` | `created_at` | open complaints with no department |
//! | `open-by-department` | `open_department` | `created_at` | open complaints with a department |
//! | `closed-by-department` | `department` | `closed_at` | closed and rejected complaints |
//!
//! `by-officer` does not key on `officer`/`due_at` directly: DynamoDB leaves an item out of an
//! index when a key attribute is missing, and the officer's list must include complaints with no
//! deadline yet (last) and exclude closed ones. So `open_officer` is set only while open, and
//! `officer_due` is `<due_at>#<id>`, or `~#<id>` with no deadline (`~` sorts after digits).
//!
//! The shards are one fixed value (`open`, `unassigned`): the escalator's reads are a few items
//! a minute, far below one partition's limits. A busier district would spread them over N shard
//! values and merge N queries.
//!
//! Timeline entries (complaint-events: `id`, `at_seq`) are written in the same transaction as the
//! complaint, numbered from the version being written (`version * 1000 + i`), so two writers can
//! never number alike (only one wins the version) and `timeline` returns write order.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use shikayat_core::complaint::{Complaint, TimelineEntry};
use shikayat_core::ids::{ComplaintId, Phone};
use shikayat_core::ports::{ComplaintStore, PortError, PortResult};

use super::{build_err, doc, get_n, get_s, index, n, put_opt, s, to_json, ts, DynamoStore, Item};
use crate::aws::error::port_err;

/// One write carries the complaint and at most this many timeline entries (DynamoDB allows 100
/// items per transaction).
const MAX_ENTRIES_PER_WRITE: usize = 99;
const OPEN_SHARD: &str = "open";
const UNASSIGNED_SHARD: &str = "unassigned";

fn item_of(c: &Complaint, version: u64) -> PortResult<Item> {
    let mut stored = c.clone();
    stored.version = version;
    let open = c.status.is_open();
    let mut item = Item::new();
    item.insert("id".into(), s(c.id.as_str()));
    item.insert("version".into(), n(version));
    item.insert("status".into(), s(c.status.as_str()));
    item.insert("complainant".into(), s(c.complainant.as_str()));
    put_opt(&mut item, "complainant_name", c.complainant_name.clone());
    put_opt(&mut item, "department", c.department.clone());
    put_opt(
        &mut item,
        "officer",
        c.officer.as_ref().map(|p| p.as_str().to_string()),
    );
    item.insert("subject".into(), s(c.subject(120)));
    item.insert("media_count".into(), n(c.media.len()));
    item.insert("reopen_count".into(), n(c.reopen_count));
    item.insert("escalation_level".into(), n(c.escalation_level));
    item.insert("created_at".into(), s(ts(c.created_at)));
    for (name, t) in [
        ("settles_at", c.settles_at),
        ("forwarded_at", c.forwarded_at),
        ("accepted_at", c.accepted_at),
        ("due_at", c.due_at),
        ("reported_at", c.reported_at),
        ("delivered_at", c.delivered_at),
        ("closed_at", c.closed_at),
        ("next_action_at", c.next_action_at),
    ] {
        put_opt(&mut item, name, t.map(ts));
    }
    put_opt(&mut item, "rejection_reason", c.rejection_reason.clone());
    if open {
        item.insert("open_shard".into(), s(OPEN_SHARD));
        if c.next_action_at.is_some() {
            item.insert("action_shard".into(), s(OPEN_SHARD));
        }
        if c.department.is_none() {
            item.insert("unassigned_shard".into(), s(UNASSIGNED_SHARD));
        }
        if let Some(dep) = &c.department {
            item.insert("open_department".into(), s(dep));
        }
        if let Some(officer) = &c.officer {
            item.insert("open_officer".into(), s(officer.as_str()));
            let due = c.due_at.map(ts).unwrap_or_else(|| "~".into());
            item.insert("officer_due".into(), s(format!("{due}#{}", c.id)));
        }
    }
    // The outbox is its own attribute, so that clearing it is one small update (`clear_outbox`).
    if !stored.outbox.is_empty() {
        item.insert("outbox".into(), s(to_json(&stored.outbox, "outbox")?));
        stored.outbox.clear();
    }
    item.insert("doc".into(), s(to_json(&stored, "complaint")?));
    Ok(item)
}

/// The stored complaint; the `version` attribute is authoritative over the copy in `doc`.
fn decode(item: &Item) -> PortResult<Complaint> {
    let mut c: Complaint = doc(item, "complaint")?;
    if let Some(v) = get_n(item, "version") {
        c.version = v;
    }
    if let Some(raw) = get_s(item, "outbox") {
        c.outbox = serde_json::from_str(raw)
            .map_err(|e| PortError::Permanent(format!("complaint {}: bad outbox JSON: {e}", c.id)))?;
    }
    Ok(c)
}

fn decode_all(items: Vec<Item>) -> PortResult<Vec<Complaint>> {
    items.iter().map(decode).collect()
}

impl DynamoStore {
    fn event_puts(
        &self,
        id: &ComplaintId,
        version: u64,
        timeline: &[TimelineEntry],
    ) -> PortResult<Vec<TransactWriteItem>> {
        if timeline.len() > MAX_ENTRIES_PER_WRITE {
            return Err(PortError::Permanent(format!(
                "complaint {id}: {} timeline entries in one write (at most {MAX_ENTRIES_PER_WRITE})",
                timeline.len()
            )));
        }
        let table = self.names.complaint_events();
        timeline
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let seq = version * 1000 + i as u64;
                let mut item = Item::new();
                item.insert("id".into(), s(id.as_str()));
                item.insert("at_seq".into(), s(format!("{}#{seq:09}", ts(e.at))));
                item.insert("seq".into(), n(seq));
                item.insert("at".into(), s(ts(e.at)));
                item.insert("event".into(), s(&e.event));
                item.insert("actor".into(), s(e.actor.describe()));
                item.insert("from".into(), s(e.from.as_str()));
                item.insert("to".into(), s(e.to.as_str()));
                item.insert("detail".into(), s(&e.detail));
                item.insert("doc".into(), s(to_json(e, "timeline entry")?));
                let put = Put::builder()
                    .table_name(&table)
                    .set_item(Some(item))
                    // A retried write whose first attempt landed must not add a second copy.
                    .condition_expression("attribute_not_exists(id)")
                    .build()
                    .map_err(build_err)?;
                Ok(TransactWriteItem::builder().put(put).build())
            })
            .collect()
    }

    async fn write(&self, what: &str, items: Vec<TransactWriteItem>) -> PortResult<()> {
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(|e| port_err(what, e))?;
        Ok(())
    }

    async fn complaints_query(
        &self,
        what: &str,
        index_name: &str,
        key_condition: &str,
        values: &[(&str, String)],
        forward: bool,
        limit: Option<usize>,
    ) -> PortResult<Vec<Complaint>> {
        let mut q = self
            .client
            .query()
            .table_name(self.names.complaints())
            .index_name(index_name)
            .key_condition_expression(key_condition)
            .scan_index_forward(forward);
        for (name, value) in values {
            q = q.expression_attribute_values(*name, s(value));
        }
        decode_all(self.query_all(what, q, limit).await?)
    }
}

#[async_trait]
impl ComplaintStore for DynamoStore {
    async fn next_sequence(&self, district: &str, year: i32) -> PortResult<u64> {
        // ADD on a missing item starts from 0: one atomic request, no read-modify-write.
        let name = format!("counter#{}#{year}", district.to_ascii_uppercase());
        let out = self
            .client
            .update_item()
            .table_name(self.names.settings())
            .key("name", s(&name))
            .update_expression("ADD #v :one SET updated_at = :now")
            .expression_attribute_names("#v", "value")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", s(ts(Utc::now())))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| port_err("next_sequence", e))?;
        out.attributes
            .as_ref()
            .and_then(|a| get_n(a, "value"))
            .ok_or_else(|| PortError::Permanent(format!("counter {name}: no value returned")))
    }

    async fn create(&self, c: &mut Complaint, timeline: &[TimelineEntry]) -> PortResult<()> {
        let put = Put::builder()
            .table_name(self.names.complaints())
            .set_item(Some(item_of(c, 1)?))
            .condition_expression("attribute_not_exists(id)")
            .build()
            .map_err(build_err)?;
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        items.extend(self.event_puts(&c.id, 1, timeline)?);
        match self.write("create complaint", items).await {
            Ok(()) => {
                c.version = 1;
                Ok(())
            }
            Err(PortError::Conflict(_)) => {
                Err(PortError::Conflict(format!("complaint {} already exists", c.id)))
            }
            Err(e) => Err(e),
        }
    }

    async fn get(&self, id: &ComplaintId) -> PortResult<Option<Complaint>> {
        let out = self
            .client
            .get_item()
            .table_name(self.names.complaints())
            .key("id", s(id.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| port_err("get complaint", e))?;
        out.item.as_ref().map(decode).transpose()
    }

    async fn update(&self, c: &mut Complaint, timeline: &[TimelineEntry]) -> PortResult<()> {
        let expected = c.version;
        let put = Put::builder()
            .table_name(self.names.complaints())
            .set_item(Some(item_of(c, expected + 1)?))
            .condition_expression("version = :expected")
            .expression_attribute_values(":expected", n(expected))
            .build()
            .map_err(build_err)?;
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        items.extend(self.event_puts(&c.id, expected + 1, timeline)?);
        match self.write("update complaint", items).await {
            Ok(()) => {
                c.version = expected + 1;
                Ok(())
            }
            // The condition failed: say whether it moved on or was never there, as SQLite does.
            Err(PortError::Conflict(_)) => Err(match self.get(&c.id).await? {
                Some(stored) => PortError::Conflict(format!(
                    "complaint {} is at version {}, not {expected}",
                    c.id, stored.version
                )),
                None => PortError::NotFound(format!("complaint {}", c.id)),
            }),
            Err(e) => Err(e),
        }
    }

    async fn clear_outbox(&self, id: &ComplaintId, version: u64) -> PortResult<()> {
        let out = self
            .client
            .update_item()
            .table_name(self.names.complaints())
            .key("id", s(id.as_str()))
            .update_expression("REMOVE outbox")
            .condition_expression("version = :v")
            .expression_attribute_values(":v", n(version))
            .send()
            .await
            .map_err(|e| port_err("clear outbox", e));
        match out {
            // Written again since: that write replaced the outbox, after sending this one.
            Ok(_) | Err(PortError::Conflict(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn timeline(&self, id: &ComplaintId) -> PortResult<Vec<TimelineEntry>> {
        let q = self
            .client
            .query()
            .table_name(self.names.complaint_events())
            .key_condition_expression("id = :id")
            .expression_attribute_values(":id", s(id.as_str()))
            .consistent_read(true);
        let mut items = self.query_all("timeline", q, None).await?;
        // The table sorts by time for the console; the port promises write order.
        items.sort_by_key(|i| get_n::<u64>(i, "seq").unwrap_or(0));
        items.iter().map(|i| doc(i, "timeline entry")).collect()
    }

    async fn by_complainant(&self, who: &Phone) -> PortResult<Vec<Complaint>> {
        let mut v = self
            .complaints_query(
                "by_complainant",
                index::BY_COMPLAINANT,
                "complainant = :c",
                &[(":c", who.as_str().to_string())],
                false,
                None,
            )
            .await?;
        v.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        Ok(v)
    }

    async fn open_by_officer(&self, officer: &Phone) -> PortResult<Vec<Complaint>> {
        self.complaints_query(
            "open_by_officer",
            index::BY_OFFICER,
            "open_officer = :o",
            &[(":o", officer.as_str().to_string())],
            true,
            None,
        )
        .await
    }

    async fn by_department(
        &self,
        department: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> PortResult<Vec<Complaint>> {
        if from >= to {
            return Ok(Vec::new());
        }
        // BETWEEN is inclusive at both ends; the register is [from, to), so drop `to` itself.
        let mut v = self
            .complaints_query(
                "by_department",
                index::BY_DEPARTMENT,
                "department = :d AND created_at BETWEEN :from AND :to",
                &[
                    (":d", department.to_string()),
                    (":from", ts(from)),
                    (":to", ts(to)),
                ],
                true,
                None,
            )
            .await?;
        v.retain(|c| c.created_at < to);
        v.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(v)
    }

    async fn open_by_department(&self, department: &str) -> PortResult<Vec<Complaint>> {
        let mut v = self
            .complaints_query(
                "open_by_department",
                index::OPEN_BY_DEPARTMENT,
                "open_department = :d",
                &[(":d", department.to_string())],
                true,
                None,
            )
            .await?;
        v.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(v)
    }

    async fn closed_by_department(
        &self,
        department: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> PortResult<Vec<Complaint>> {
        if from >= to {
            return Ok(Vec::new());
        }
        let mut v = self
            .complaints_query(
                "closed_by_department",
                index::CLOSED_BY_DEPARTMENT,
                "department = :d AND closed_at BETWEEN :from AND :to",
                &[
                    (":d", department.to_string()),
                    (":from", ts(from)),
                    (":to", ts(to)),
                ],
                true,
                None,
            )
            .await?;
        v.retain(|c| !c.status.is_open() && c.closed_at.is_some_and(|t| t >= from && t < to));
        v.sort_by(|a, b| (a.closed_at, &a.id).cmp(&(b.closed_at, &b.id)));
        Ok(v)
    }

    async fn unassigned(&self) -> PortResult<Vec<Complaint>> {
        let mut v = self
            .complaints_query(
                "unassigned",
                index::UNASSIGNED,
                "unassigned_shard = :s",
                &[(":s", UNASSIGNED_SHARD.to_string())],
                true,
                None,
            )
            .await?;
        v.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(v)
    }

    async fn open_due_before(&self, before: DateTime<Utc>, limit: usize) -> PortResult<Vec<Complaint>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.complaints_query(
            "open_due_before",
            index::OPEN_BY_DUE,
            "open_shard = :s AND due_at < :before",
            &[(":s", OPEN_SHARD.to_string()), (":before", ts(before))],
            true,
            Some(limit),
        )
        .await
    }

    async fn open_action_due(&self, before: DateTime<Utc>, limit: usize) -> PortResult<Vec<Complaint>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.complaints_query(
            "open_action_due",
            index::OPEN_BY_ACTION,
            "action_shard = :s AND next_action_at <= :before",
            &[(":s", OPEN_SHARD.to_string()), (":before", ts(before))],
            true,
            Some(limit),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::dynamo::get_s;
    use shikayat_core::complaint::Status;

    #[test]
    fn sparse_attributes_follow_the_state() {
        let t = DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z")
            .expect("t")
            .with_timezone(&Utc);
        let mut c = Complaint::new(
            ComplaintId::new("AMT", 2026, 7),
            Phone::new("919800000001"),
            None,
            t,
        );
        let item = item_of(&c, 1).expect("item");
        assert_eq!(get_s(&item, "unassigned_shard"), Some("unassigned"));
        assert_eq!(get_s(&item, "created_at"), Some("2026-11-28T10:00:00.000000Z"));
        assert!(!item.contains_key("action_shard") && !item.contains_key("open_officer"));
        c.department = Some("water".into());
        c.officer = Some(Phone::new("919000000001"));
        c.next_action_at = Some(t);
        let item = item_of(&c, 2).expect("item");
        assert_eq!(get_s(&item, "officer_due"), Some("~#AMT-2026-000007"));
        assert_eq!(get_s(&item, "action_shard"), Some("open"));
        assert_eq!(get_s(&item, "open_department"), Some("water"));
        assert!(!item.contains_key("unassigned_shard"));
        c.status = Status::Closed;
        let item = item_of(&c, 3).expect("item");
        for gone in [
            "open_department",
            "open_shard",
            "action_shard",
            "open_officer",
            "officer_due",
            "unassigned_shard",
        ] {
            assert!(!item.contains_key(gone), "{gone}");
        }
        assert_eq!(decode(&item).expect("decode").version, 3);
    }
}
