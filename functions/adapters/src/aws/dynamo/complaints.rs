//! `ComplaintStore` on the complaints and complaint-events tables.
//!
//! A complaint item carries, besides `doc`, the attributes its indexes need; the sparse ones are
//! present only while they apply, so an index holds only what its query wants. The indexes hold
//! keys (and a time or two to filter on), never the complaint: a reader takes the ids from the
//! index and fetches the complaints by key (`BatchGetItem`, 100 a call). A write of the ≈ 3 KB
//! item is then copied into an index only when that index's keys change, as a ≈ 200 B entry,
//! instead of into every index holding it in full.
//!
//! | index | partition | sort | projection | holds | read by |
//! |---|---|---|---|---|---|
//! | `complainant` | `complainant` | `created_at` | keys | every complaint | `by_complainant` |
//! | `officer-open` | `open_officer` | `officer_due` | keys | open, with an officer | `open_by_officer` |
//! | `department-state` | `dept` | `dept_state` | keys, `created_at` | every complaint | `by_department`, `open_by_department`, `closed_by_department`, `unassigned` |
//! | `open-next` | `open_shard` | `open_next` | keys, `due_at` | open complaints | `open_action_due`, `open_due_before` |
//!
//! - `dept` is the department, or `~` when there is none; `dept_state` is `open#<created_at>`
//!   while open and `closed#<closed_at>` once closed or rejected. So the open and the closed of
//!   a department are two ranges of one partition, `unassigned` is the open range of `~`, and
//!   the register (created in [from, to)) is the open range by creation plus the closed ones
//!   closed since `from`, filtered on the projected `created_at`.
//! - `open_shard` is `open#<n>`, n from a hash of the id over `OPEN_SHARDS`, set only while
//!   open; `open_next` is `<next_action_at>#<id>`, or `~#<id>` with nothing scheduled (`~`
//!   sorts after digits). The escalator reads `open_next < <now>#~` per shard, so its cost
//!   follows the number due; the overdue report reads the shards' open entries and filters on
//!   the projected `due_at` (an administrator's page, not a schedule).
//! - `officer-open` does not key on `officer`/`due_at` directly: DynamoDB leaves an item out of
//!   an index when a key attribute is missing, and the officer's list must include complaints
//!   with no deadline yet (last) and exclude closed ones. So `open_officer` is set only while
//!   open, and `officer_due` is `<due_at>#<id>`, or `~#<id>` with no deadline.
//!
//! Index reads are eventually consistent and the fetch is not: every reader checks what it
//! fetched against its question again, so an index entry a moment behind never returns a
//! complaint that no longer answers it.
//!
//! Timeline entries (complaint-events: `id`, `at_seq`) are written in the same transaction as the
//! complaint, numbered from the version being written (`version * 1000 + i`), so two writers can
//! never number alike (only one wins the version) and `timeline` returns write order. A write
//! with no entries is a plain conditional `PutItem` (a transaction costs twice the units).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{KeysAndAttributes, Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use shikayat_core::complaint::{Complaint, TimelineEntry};
use shikayat_core::ids::{ComplaintId, Phone};
use shikayat_core::ports::{ComplaintStore, PortError, PortResult};

use super::{build_err, doc, get_n, get_s, index, n, put_opt, s, to_json, ts, DynamoStore, Item};
use crate::aws::error::port_err;

/// One write carries the complaint and at most this many timeline entries (DynamoDB allows 100
/// items per transaction).
const MAX_ENTRIES_PER_WRITE: usize = 99;
/// The open complaints are spread over this many `open_shard` values, so no one index partition
/// takes every open complaint's writes; the escalator reads them all (one query each).
pub(crate) const OPEN_SHARDS: u32 = 4;
/// `dept` of a complaint with no department.
const NO_DEPARTMENT: &str = "~";
/// `BatchGetItem` takes at most 100 keys.
const BATCH_GET: usize = 100;

/// FNV-1a of the id: a fixed shard per complaint, the same in every process and release.
fn open_shard(id: &ComplaintId) -> String {
    let h = id.as_str().bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    format!("open#{}", h % OPEN_SHARDS)
}

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
    item.insert("dept".into(), s(c.department.as_deref().unwrap_or(NO_DEPARTMENT)));
    let state = if open {
        format!("open#{}", ts(c.created_at))
    } else {
        // A closed complaint always has `closed_at`; if not, it is at least not before its creation.
        format!("closed#{}", ts(c.closed_at.unwrap_or(c.created_at)))
    };
    item.insert("dept_state".into(), s(state));
    if open {
        item.insert("open_shard".into(), s(open_shard(&c.id)));
        let next = c.next_action_at.map(ts).unwrap_or_else(|| "~".into());
        item.insert("open_next".into(), s(format!("{next}#{}", c.id)));
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

/// A query on an index: the key condition, its values, and an optional filter on projected
/// attributes.
struct IndexQuery<'a> {
    what: &'a str,
    index: &'a str,
    key_condition: &'a str,
    filter: Option<&'a str>,
    values: Vec<(&'a str, String)>,
    limit: Option<usize>,
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

    /// Puts the complaint item under `condition` with its timeline entries: one transaction
    /// when there are entries, a plain conditional put (half the units) when there are none.
    #[allow(clippy::too_many_arguments)]
    async fn write_complaint(
        &self,
        what: &str,
        item: Item,
        condition: &str,
        expected: Option<u64>,
        id: &ComplaintId,
        version: u64,
        timeline: &[TimelineEntry],
    ) -> PortResult<()> {
        if timeline.is_empty() {
            let mut req = self
                .client
                .put_item()
                .table_name(self.names.complaints())
                .set_item(Some(item))
                .condition_expression(condition);
            if let Some(v) = expected {
                req = req.expression_attribute_values(":expected", n(v));
            }
            req.send().await.map_err(|e| port_err(what, e))?;
            return Ok(());
        }
        let mut put = Put::builder()
            .table_name(self.names.complaints())
            .set_item(Some(item))
            .condition_expression(condition);
        if let Some(v) = expected {
            put = put.expression_attribute_values(":expected", n(v));
        }
        let mut items = vec![TransactWriteItem::builder()
            .put(put.build().map_err(build_err)?)
            .build()];
        items.extend(self.event_puts(id, version, timeline)?);
        self.write(what, items).await
    }

    /// The index entries a query finds, in index order (ascending).
    async fn index_entries(&self, q: IndexQuery<'_>) -> PortResult<Vec<Item>> {
        let mut req = self
            .client
            .query()
            .table_name(self.names.complaints())
            .index_name(q.index)
            .key_condition_expression(q.key_condition);
        if let Some(f) = q.filter {
            req = req.filter_expression(f);
        }
        for (name, value) in &q.values {
            req = req.expression_attribute_values(*name, s(value));
        }
        // With a filter, `Limit` bounds the entries read, not those returned: no limit then.
        let limit = if q.filter.is_some() { None } else { q.limit };
        self.query_all(q.what, req, limit).await
    }

    /// The complaints of these index entries, fetched by key (consistent reads), in the entries'
    /// order; one no longer there is left out.
    async fn fetch(&self, what: &str, entries: &[Item]) -> PortResult<Vec<Complaint>> {
        let mut ids: Vec<&str> = Vec::with_capacity(entries.len());
        for id in entries.iter().filter_map(|e| get_s(e, "id")) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        let table = self.names.complaints();
        let mut found: HashMap<String, Complaint> = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(BATCH_GET) {
            let mut keys: Vec<Item> = chunk
                .iter()
                .map(|id| Item::from([("id".to_string(), s(*id))]))
                .collect();
            let mut backoff = std::time::Duration::from_millis(25);
            let mut rounds = 0;
            while !keys.is_empty() {
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(true)
                    .build()
                    .map_err(build_err)?;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&table, request)
                    .send()
                    .await
                    .map_err(|e| port_err(what, e))?;
                for item in out
                    .responses
                    .and_then(|mut r| r.remove(&table))
                    .unwrap_or_default()
                {
                    let c = decode(&item)?;
                    found.insert(c.id.as_str().to_string(), c);
                }
                // Throttled or over 16 MB: ask again for the rest, backing off.
                keys = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&table))
                    .map(|k| k.keys)
                    .unwrap_or_default();
                if !keys.is_empty() {
                    rounds += 1;
                    if rounds > 8 {
                        return Err(PortError::Transient(format!(
                            "{what}: {} complaints still unprocessed after {rounds} rounds",
                            keys.len()
                        )));
                    }
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                }
            }
        }
        Ok(ids.iter().filter_map(|id| found.remove(*id)).collect())
    }

    /// The open-next entries of every shard matching `key_condition` (with `:s` the shard).
    async fn open_entries(
        &self,
        what: &str,
        key_condition: &str,
        filter: Option<&str>,
        values: &[(&str, String)],
        limit: Option<usize>,
    ) -> PortResult<Vec<Item>> {
        let mut out = Vec::new();
        for shard in 0..OPEN_SHARDS {
            let mut v = values.to_vec();
            v.push((":s", format!("open#{shard}")));
            out.extend(
                self.index_entries(IndexQuery {
                    what,
                    index: index::OPEN_NEXT,
                    key_condition,
                    filter,
                    values: v,
                    limit,
                })
                .await?,
            );
        }
        Ok(out)
    }

    /// The complaints of a department's (`~`: no department's) `dept_state` range.
    async fn department_range(
        &self,
        what: &str,
        dept: &str,
        key_condition: &str,
        filter: Option<&str>,
        values: &[(&str, String)],
    ) -> PortResult<Vec<Complaint>> {
        let mut v = values.to_vec();
        v.push((":d", dept.to_string()));
        let entries = self
            .index_entries(IndexQuery {
                what,
                index: index::DEPARTMENT_STATE,
                key_condition,
                filter,
                values: v,
                limit: None,
            })
            .await?;
        self.fetch(what, &entries).await
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
        let res = self
            .write_complaint(
                "create complaint",
                item_of(c, 1)?,
                "attribute_not_exists(id)",
                None,
                &c.id,
                1,
                timeline,
            )
            .await;
        match res {
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
        let res = self
            .write_complaint(
                "update complaint",
                item_of(c, expected + 1)?,
                "version = :expected",
                Some(expected),
                &c.id,
                expected + 1,
                timeline,
            )
            .await;
        match res {
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
        let entries = self
            .index_entries(IndexQuery {
                what: "by_complainant",
                index: index::COMPLAINANT,
                key_condition: "complainant = :c",
                filter: None,
                values: vec![(":c", who.as_str().to_string())],
                limit: None,
            })
            .await?;
        let mut v = self.fetch("by_complainant", &entries).await?;
        v.retain(|c| &c.complainant == who);
        v.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        Ok(v)
    }

    async fn open_by_officer(&self, officer: &Phone) -> PortResult<Vec<Complaint>> {
        let entries = self
            .index_entries(IndexQuery {
                what: "open_by_officer",
                index: index::OFFICER_OPEN,
                key_condition: "open_officer = :o",
                filter: None,
                values: vec![(":o", officer.as_str().to_string())],
                limit: None,
            })
            .await?;
        let mut v = self.fetch("open_by_officer", &entries).await?;
        v.retain(|c| c.status.is_open() && c.officer.as_ref() == Some(officer));
        // The index's order (`officer_due`), on what was fetched: no deadline last.
        v.sort_by(|a, b| (a.due_at.is_none(), a.due_at, &a.id).cmp(&(b.due_at.is_none(), b.due_at, &b.id)));
        Ok(v)
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
        // Open: by creation. BETWEEN is inclusive at both ends; `to` itself is dropped below.
        let mut v = self
            .department_range(
                "by_department",
                department,
                "dept = :d AND dept_state BETWEEN :from AND :to",
                None,
                &[
                    (":from", format!("open#{}", ts(from))),
                    (":to", format!("open#{}", ts(to))),
                ],
            )
            .await?;
        // Closed: closed at or after creation, so at or after `from`; by the projected creation.
        v.extend(
            self.department_range(
                "by_department",
                department,
                "dept = :d AND dept_state BETWEEN :from AND :end",
                Some("created_at < :created_before"),
                &[
                    (":from", format!("closed#{}", ts(from))),
                    (":end", "closed#~".to_string()),
                    (":created_before", ts(to)),
                ],
            )
            .await?,
        );
        v.retain(|c| {
            c.department.as_deref() == Some(department) && c.created_at >= from && c.created_at < to
        });
        v.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        v.dedup_by(|a, b| a.id == b.id);
        Ok(v)
    }

    async fn open_by_department(&self, department: &str) -> PortResult<Vec<Complaint>> {
        let mut v = self
            .department_range(
                "open_by_department",
                department,
                "dept = :d AND begins_with(dept_state, :open)",
                None,
                &[(":open", "open#".to_string())],
            )
            .await?;
        v.retain(|c| c.status.is_open() && c.department.as_deref() == Some(department));
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
            .department_range(
                "closed_by_department",
                department,
                "dept = :d AND dept_state BETWEEN :from AND :to",
                None,
                &[
                    (":from", format!("closed#{}", ts(from))),
                    (":to", format!("closed#{}", ts(to))),
                ],
            )
            .await?;
        v.retain(|c| {
            !c.status.is_open()
                && c.department.as_deref() == Some(department)
                && c.closed_at.is_some_and(|t| t >= from && t < to)
        });
        v.sort_by(|a, b| (a.closed_at, &a.id).cmp(&(b.closed_at, &b.id)));
        Ok(v)
    }

    async fn unassigned(&self) -> PortResult<Vec<Complaint>> {
        let mut v = self
            .department_range(
                "unassigned",
                NO_DEPARTMENT,
                "dept = :d AND begins_with(dept_state, :open)",
                None,
                &[(":open", "open#".to_string())],
            )
            .await?;
        v.retain(|c| c.status.is_open() && c.department.is_none());
        v.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(v)
    }

    async fn open_due_before(&self, before: DateTime<Utc>, limit: usize) -> PortResult<Vec<Complaint>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut entries = self
            .open_entries(
                "open_due_before",
                "open_shard = :s",
                Some("due_at < :before"),
                &[(":before", ts(before))],
                None,
            )
            .await?;
        let due = |e: &Item| {
            (
                get_s(e, "due_at").unwrap_or_default().to_string(),
                get_s(e, "id").unwrap_or_default().to_string(),
            )
        };
        entries.sort_by_cached_key(due);
        entries.truncate(limit);
        let mut v = self.fetch("open_due_before", &entries).await?;
        v.retain(|c| c.status.is_open() && c.due_at.is_some_and(|d| d < before));
        v.sort_by(|a, b| (a.due_at, &a.id).cmp(&(b.due_at, &b.id)));
        Ok(v)
    }

    async fn open_action_due(&self, before: DateTime<Utc>, limit: usize) -> PortResult<Vec<Complaint>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // `<next_action_at>#<id>` at or before `before`: below `<before>#~`; `~#…` (nothing
        // scheduled) sorts above every time.
        let mut entries = self
            .open_entries(
                "open_action_due",
                "open_shard = :s AND open_next < :below",
                None,
                &[(":below", format!("{}#~", ts(before)))],
                Some(limit),
            )
            .await?;
        entries.sort_by_cached_key(|e| get_s(e, "open_next").unwrap_or_default().to_string());
        entries.truncate(limit);
        let mut v = self.fetch("open_action_due", &entries).await?;
        v.retain(|c| c.status.is_open() && c.next_action_at.is_some_and(|t| t <= before));
        v.sort_by(|a, b| (a.next_action_at, &a.id).cmp(&(b.next_action_at, &b.id)));
        Ok(v)
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
        assert_eq!(get_s(&item, "dept"), Some("~"));
        assert_eq!(
            get_s(&item, "dept_state"),
            Some("open#2026-11-28T10:00:00.000000Z")
        );
        assert_eq!(get_s(&item, "created_at"), Some("2026-11-28T10:00:00.000000Z"));
        assert_eq!(get_s(&item, "open_next"), Some("~#AMT-2026-000007"));
        assert!(!item.contains_key("open_officer"));
        c.department = Some("water".into());
        c.officer = Some(Phone::new("919000000001"));
        c.next_action_at = Some(t);
        let item = item_of(&c, 2).expect("item");
        assert_eq!(get_s(&item, "officer_due"), Some("~#AMT-2026-000007"));
        assert_eq!(
            get_s(&item, "open_next"),
            Some("2026-11-28T10:00:00.000000Z#AMT-2026-000007")
        );
        assert_eq!(get_s(&item, "dept"), Some("water"));
        let shard = get_s(&item, "open_shard").expect("shard").to_string();
        assert!(shard.starts_with("open#"));
        assert_eq!(
            item_of(&c, 3).expect("again").get("open_shard"),
            Some(&s(&shard)),
            "a complaint's shard never moves"
        );
        c.status = Status::Closed;
        c.closed_at = Some(t + chrono::Duration::hours(5));
        let item = item_of(&c, 3).expect("item");
        for gone in ["open_shard", "open_next", "open_officer", "officer_due"] {
            assert!(!item.contains_key(gone), "{gone}");
        }
        assert_eq!(
            get_s(&item, "dept_state"),
            Some("closed#2026-11-28T15:00:00.000000Z")
        );
        assert_eq!(decode(&item).expect("decode").version, 3);
    }

    #[test]
    fn open_complaints_spread_over_every_shard() {
        let mut seen = std::collections::BTreeSet::new();
        for i in 1..=64 {
            seen.insert(open_shard(&ComplaintId::new("AMT", 2026, i)));
        }
        assert_eq!(seen.len(), OPEN_SHARDS as usize, "{seen:?}");
    }
}
