//! `SqliteStore`: complaints and their timelines (this file), and — in the sibling files — the
//! message log, conversations and directory, all on one `Db`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, ToSql, TransactionBehavior};
use shikayat_core::complaint::{Complaint, TimelineEntry};
use shikayat_core::ids::{ComplaintId, Phone};
use shikayat_core::ports::{ComplaintStore, PortError, PortResult};

use super::db::{db_err, json_err, ts, Db};

/// Implements `ComplaintStore`, `MessageLog`, `Conversations` and `Directory` on one database.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pub(crate) db: Db,
}

impl SqliteStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }
}

/// A complaint flattened into its indexed columns plus the whole record, ready to bind. Built on
/// the async side so only owned data crosses to the blocking thread.
struct Row {
    id: String,
    version: u64,
    status: &'static str,
    department: Option<String>,
    officer: Option<String>,
    complainant: String,
    created_at: String,
    due_at: Option<String>,
    open: bool,
    doc: String,
    next_action_at: Option<String>,
}

impl Row {
    /// The row as it will be stored at `version` (the caller's struct is bumped only after the
    /// write commits, so a failed write leaves it as it was).
    fn of(c: &Complaint, version: u64) -> PortResult<Row> {
        let mut stored = c.clone();
        stored.version = version;
        Ok(Row {
            id: c.id.as_str().to_string(),
            version,
            status: c.status.as_str(),
            department: c.department.clone(),
            officer: c.officer.as_ref().map(|p| p.as_str().to_string()),
            complainant: c.complainant.as_str().to_string(),
            created_at: ts(c.created_at),
            due_at: c.due_at.map(ts),
            open: c.status.is_open(),
            next_action_at: c.next_action_at.map(ts),
            doc: serde_json::to_string(&stored).map_err(|e| json_err("complaint", e))?,
        })
    }
}

/// (at, entry JSON) for each timeline entry.
fn encode_entries(timeline: &[TimelineEntry]) -> PortResult<Vec<(String, String)>> {
    timeline
        .iter()
        .map(|e| {
            Ok((
                ts(e.at),
                serde_json::to_string(e).map_err(|err| json_err("timeline entry", err))?,
            ))
        })
        .collect()
}

/// Appends after the complaint's last entry, inside the caller's transaction.
fn append_events(conn: &Connection, id: &str, entries: &[(String, String)]) -> PortResult<()> {
    let last: u64 = conn
        .query_row(
            "SELECT COALESCE(MAX(seq), 0) FROM complaint_events WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .map_err(db_err)?;
    let mut stmt = conn
        .prepare_cached("INSERT INTO complaint_events (id, seq, at, entry) VALUES (?1, ?2, ?3, ?4)")
        .map_err(db_err)?;
    for (i, (at, entry)) in entries.iter().enumerate() {
        stmt.execute(params![id, last + 1 + i as u64, at, entry])
            .map_err(db_err)?;
    }
    Ok(())
}

/// The stored record; the `version` column is authoritative over the copy inside `doc`.
fn decode(version: u64, doc: &str) -> PortResult<Complaint> {
    let mut c: Complaint = serde_json::from_str(doc).map_err(|e| json_err("complaint", e))?;
    c.version = version;
    Ok(c)
}

/// Runs a `SELECT version, doc FROM complaints …` and decodes every row.
fn select(conn: &Connection, sql: &str, args: &[&dyn ToSql]) -> PortResult<Vec<Complaint>> {
    let mut stmt = conn.prepare_cached(sql).map_err(db_err)?;
    let rows = stmt
        .query_map(args, |r| Ok((r.get::<_, u64>(0)?, r.get::<_, String>(1)?)))
        .map_err(db_err)?;
    let mut out = Vec::new();
    for row in rows {
        let (version, doc) = row.map_err(db_err)?;
        out.push(decode(version, &doc)?);
    }
    Ok(out)
}

#[async_trait]
impl ComplaintStore for SqliteStore {
    async fn next_sequence(&self, district: &str, year: i32) -> PortResult<u64> {
        let name = format!("counter:{}:{year}", district.to_ascii_uppercase());
        // One statement, so two callers can never read the same value.
        self.db
            .call(move |conn| {
                conn.query_row(
                    "INSERT INTO settings (name, value) VALUES (?1, 1)
                     ON CONFLICT (name) DO UPDATE SET value = value + 1
                     RETURNING value",
                    [&name],
                    |r| r.get(0),
                )
                .map_err(db_err)
            })
            .await
    }

    async fn create(&self, c: &mut Complaint, timeline: &[TimelineEntry]) -> PortResult<()> {
        let row = Row::of(c, 1)?;
        let entries = encode_entries(timeline)?;
        self.db
            .call(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
                let inserted = tx
                    .execute(
                        "INSERT INTO complaints
                           (id, version, status, department, officer, complainant, created_at, due_at, open, doc,
                            next_action_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                         ON CONFLICT (id) DO NOTHING",
                        params![
                            row.id, row.version, row.status, row.department, row.officer,
                            row.complainant, row.created_at, row.due_at, row.open, row.doc,
                            row.next_action_at
                        ],
                    )
                    .map_err(db_err)?;
                if inserted == 0 {
                    return Err(PortError::Conflict(format!("complaint {} already exists", row.id)));
                }
                append_events(&tx, &row.id, &entries)?;
                tx.commit().map_err(db_err)
            })
            .await?;
        c.version = 1;
        Ok(())
    }

    async fn get(&self, id: &ComplaintId) -> PortResult<Option<Complaint>> {
        let id = id.as_str().to_string();
        self.db
            .call(move |conn| {
                let row: Option<(u64, String)> = conn
                    .query_row("SELECT version, doc FROM complaints WHERE id = ?1", [&id], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .optional()
                    .map_err(db_err)?;
                row.map(|(v, doc)| decode(v, &doc)).transpose()
            })
            .await
    }

    async fn update(&self, c: &mut Complaint, timeline: &[TimelineEntry]) -> PortResult<()> {
        let expected = c.version;
        let row = Row::of(c, expected + 1)?;
        let entries = encode_entries(timeline)?;
        self.db
            .call(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(db_err)?;
                let changed = tx
                    .execute(
                        "UPDATE complaints SET version = ?2, status = ?3, department = ?4, officer = ?5,
                           complainant = ?6, created_at = ?7, due_at = ?8, open = ?9, doc = ?10,
                           next_action_at = ?12
                         WHERE id = ?1 AND version = ?11",
                        params![
                            row.id,
                            row.version,
                            row.status,
                            row.department,
                            row.officer,
                            row.complainant,
                            row.created_at,
                            row.due_at,
                            row.open,
                            row.doc,
                            expected,
                            row.next_action_at
                        ],
                    )
                    .map_err(db_err)?;
                if changed == 0 {
                    let stored: Option<u64> = tx
                        .query_row("SELECT version FROM complaints WHERE id = ?1", [&row.id], |r| {
                            r.get(0)
                        })
                        .optional()
                        .map_err(db_err)?;
                    return Err(match stored {
                        Some(v) => PortError::Conflict(format!(
                            "complaint {} is at version {v}, not {expected}",
                            row.id
                        )),
                        None => PortError::NotFound(format!("complaint {}", row.id)),
                    });
                }
                append_events(&tx, &row.id, &entries)?;
                tx.commit().map_err(db_err)
            })
            .await?;
        c.version = expected + 1;
        Ok(())
    }

    async fn clear_outbox(&self, id: &ComplaintId, version: u64) -> PortResult<()> {
        let id = id.as_str().to_string();
        self.db
            .call(move |conn| {
                conn.execute(
                    "UPDATE complaints SET doc = json_remove(doc, '$.outbox') WHERE id = ?1 AND version = ?2",
                    params![id, version],
                )
                .map_err(db_err)
            })
            .await?;
        Ok(())
    }

    async fn timeline(&self, id: &ComplaintId) -> PortResult<Vec<TimelineEntry>> {
        let id = id.as_str().to_string();
        self.db
            .call(move |conn| {
                let mut stmt = conn
                    .prepare_cached("SELECT entry FROM complaint_events WHERE id = ?1 ORDER BY seq")
                    .map_err(db_err)?;
                let rows = stmt.query_map([&id], |r| r.get::<_, String>(0)).map_err(db_err)?;
                let mut out = Vec::new();
                for row in rows {
                    let entry = row.map_err(db_err)?;
                    out.push(serde_json::from_str(&entry).map_err(|e| json_err("timeline entry", e))?);
                }
                Ok(out)
            })
            .await
    }

    async fn by_complainant(&self, who: &Phone) -> PortResult<Vec<Complaint>> {
        let who = who.as_str().to_string();
        self.db
            .call(move |conn| {
                select(
                    conn,
                    "SELECT version, doc FROM complaints WHERE complainant = ?1
                     ORDER BY created_at DESC, id DESC",
                    &[&who],
                )
            })
            .await
    }

    async fn open_by_officer(&self, officer: &Phone) -> PortResult<Vec<Complaint>> {
        let officer = officer.as_str().to_string();
        // Complaints without a deadline yet sort after every dated one.
        self.db
            .call(move |conn| {
                select(
                    conn,
                    "SELECT version, doc FROM complaints WHERE officer = ?1 AND open = 1
                     ORDER BY due_at IS NULL, due_at, id",
                    &[&officer],
                )
            })
            .await
    }

    async fn by_department(
        &self,
        department: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> PortResult<Vec<Complaint>> {
        let (department, from, to) = (department.to_string(), ts(from), ts(to));
        self.db
            .call(move |conn| {
                select(
                    conn,
                    "SELECT version, doc FROM complaints
                     WHERE department = ?1 AND created_at >= ?2 AND created_at < ?3
                     ORDER BY created_at, id",
                    &[&department, &from, &to],
                )
            })
            .await
    }

    async fn open_by_department(&self, department: &str) -> PortResult<Vec<Complaint>> {
        let department = department.to_string();
        self.db
            .call(move |conn| select(conn, OPEN_BY_DEPARTMENT, &[&department]))
            .await
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
        // `closed_at` inside `doc` is RFC 3339 with a varying fraction, so the index narrows to
        // the days around [from, to) by string and the exact bounds are applied here.
        let (department, lo, hi) = (
            department.to_string(),
            (from - chrono::Duration::days(1)).format("%Y-%m-%d").to_string(),
            (to + chrono::Duration::days(1)).format("%Y-%m-%d").to_string(),
        );
        let mut v = self
            .db
            .call(move |conn| select(conn, CLOSED_BY_DEPARTMENT, &[&department, &lo, &hi]))
            .await?;
        v.retain(|c| c.closed_at.is_some_and(|t| t >= from && t < to));
        Ok(v)
    }

    async fn unassigned(&self) -> PortResult<Vec<Complaint>> {
        self.db
            .call(move |conn| {
                select(
                    conn,
                    "SELECT version, doc FROM complaints WHERE open = 1 AND department IS NULL
                     ORDER BY created_at, id",
                    &[],
                )
            })
            .await
    }

    async fn open_due_before(&self, before: DateTime<Utc>, limit: usize) -> PortResult<Vec<Complaint>> {
        let before = ts(before);
        // `open = 1` spelled exactly as in the partial index, so SQLite may use it.
        self.db
            .call(move |conn| select(conn, OPEN_DUE_BEFORE, &[&before, &limit]))
            .await
    }

    async fn open_action_due(&self, before: DateTime<Utc>, limit: usize) -> PortResult<Vec<Complaint>> {
        let before = ts(before);
        self.db
            .call(move |conn| select(conn, OPEN_ACTION_DUE, &[&before, &limit]))
            .await
    }
}

/// Spelled with the partial index's own predicate, so SQLite uses it.
const OPEN_ACTION_DUE: &str = "SELECT version, doc FROM complaints
     WHERE open = 1 AND next_action_at IS NOT NULL AND next_action_at <= ?1
     ORDER BY next_action_at LIMIT ?2";

const OPEN_BY_DEPARTMENT: &str = "SELECT version, doc FROM complaints
     WHERE department = ?1 AND open = 1 ORDER BY created_at, id";

const CLOSED_BY_DEPARTMENT: &str = "SELECT version, doc FROM complaints
     WHERE department = ?1 AND open = 0
       AND json_extract(doc, '$.closed_at') >= ?2 AND json_extract(doc, '$.closed_at') < ?3
     ORDER BY json_extract(doc, '$.closed_at'), id";

const OPEN_DUE_BEFORE: &str =
    "SELECT version, doc FROM complaints WHERE open = 1 AND due_at < ?1 ORDER BY due_at LIMIT ?2";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedded::testutil::{at, complaint, entry, store};

    /// The detail lines of SQLite's plan for `sql` run with `args`.
    async fn query_plan(
        s: &SqliteStore,
        sql: &'static str,
        args: impl rusqlite::Params + Send + 'static,
    ) -> Vec<String> {
        s.db.call(move |conn| {
            let mut stmt = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .map_err(db_err)?;
            let rows = stmt.query_map(args, |r| r.get::<_, String>(3)).map_err(db_err)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
        })
        .await
        .expect("plan")
    }

    #[tokio::test]
    async fn survives_reopening_the_database() {
        let (dir, s) = store();
        let mut c = complaint(1, "919800000001", at(0));
        s.create(&mut c, &[entry(at(0), "registered")])
            .await
            .expect("create");
        assert_eq!(s.next_sequence("AMT", 2026).await.expect("seq"), 1);
        drop(s);
        let s = SqliteStore::new(Db::open(dir.path()).expect("reopen"));
        assert_eq!(s.get(&c.id).await.expect("get"), Some(c.clone()));
        assert_eq!(s.timeline(&c.id).await.expect("timeline").len(), 1);
        assert_eq!(s.next_sequence("AMT", 2026).await.expect("seq"), 2);
    }

    #[tokio::test]
    async fn the_action_due_query_uses_its_partial_index() {
        let (_dir, s) = store();
        let plan = query_plan(&s, OPEN_ACTION_DUE, ("2026-01-01", 10)).await;
        assert!(
            plan.iter().any(|l| l.contains("complaints_open_by_next_action")),
            "{plan:?}"
        );
    }

    #[tokio::test]
    async fn the_digest_queries_use_their_indexes() {
        let (_dir, s) = store();
        let plan = query_plan(&s, OPEN_BY_DEPARTMENT, ["water"]).await;
        assert!(
            plan.iter().any(|l| l.contains("complaints_open_by_department")),
            "{plan:?}"
        );
        let plan = query_plan(&s, CLOSED_BY_DEPARTMENT, ["water"; 3]).await;
        assert!(
            plan.iter().any(|l| l.contains("complaints_closed_by_department")),
            "{plan:?}"
        );
    }

    #[tokio::test]
    async fn the_escalator_query_uses_the_partial_index() {
        let (_dir, s) = store();
        let plan = query_plan(&s, OPEN_DUE_BEFORE, ("2026-01-01", 10)).await;
        assert!(
            plan.iter().any(|l| l.contains("complaints_open_by_due")),
            "{plan:?}"
        );
    }
}
