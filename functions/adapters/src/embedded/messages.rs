//! `MessageLog` on `SqliteStore`: inbound dedupe marks / command idempotency keys (`done_keys`)
//! and the outbound message log (`messages`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use shikayat_core::ids::{ComplaintId, Phone};
use shikayat_core::inbound::DeliveryStatus;
use shikayat_core::ports::{MessageLog, OutboundRecord, PortError, PortResult};

use super::db::{db_err, ts};
use super::store::SqliteStore;

const COLUMNS: &str = r#"wamid, "to", complaint, kind, command_key, part, status, error, at"#;

fn read(
    conn: &Connection,
    filter: &str,
    args: &[&dyn rusqlite::ToSql],
) -> PortResult<Option<OutboundRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM messages WHERE {filter}");
    let raw = conn
        .query_row(&sql, args, |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, u32>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, Option<String>>(7)?,
                r.get::<_, String>(8)?,
            ))
        })
        .optional()
        .map_err(db_err)?;
    let Some((wamid, to, complaint, kind, command_key, part, status, error, at)) = raw else {
        return Ok(None);
    };
    let status = DeliveryStatus::parse(&status).ok_or_else(|| {
        PortError::Permanent(format!(
            "outbound record {command_key}#{part}: unknown status {status:?}"
        ))
    })?;
    let at = DateTime::parse_from_rfc3339(&at)
        .map_err(|e| {
            PortError::Permanent(format!(
                "outbound record {command_key}#{part}: bad time {at:?}: {e}"
            ))
        })?
        .with_timezone(&Utc);
    Ok(Some(OutboundRecord {
        to: Phone::new(&to),
        // Stored as written by `ComplaintId::as_str`, so parsing gives back the same id.
        complaint: complaint.and_then(|c| ComplaintId::parse(&c)),
        wamid,
        kind,
        command_key,
        part,
        status,
        error,
        at,
    }))
}

impl SqliteStore {
    /// Forgets dedupe marks and outbound records older than `before` (DynamoDB's TTL on the
    /// messages table); returns how many rows went.
    pub async fn expire_messages_before(&self, before: DateTime<Utc>) -> PortResult<u64> {
        let before = ts(before);
        self.db
            .call(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(db_err)?;
                let a = tx
                    .execute("DELETE FROM done_keys WHERE at < ?1", [&before])
                    .map_err(db_err)?;
                let b = tx
                    .execute("DELETE FROM messages WHERE at < ?1", [&before])
                    .map_err(db_err)?;
                tx.commit().map_err(db_err)?;
                Ok((a + b) as u64)
            })
            .await
    }
}

#[async_trait]
impl MessageLog for SqliteStore {
    /// True once `mark_done(key)` has committed. A pure read: a consumer checks it first and
    /// marks the key only after all its effects, so a crash in between redoes the work instead
    /// of losing it.
    async fn is_done(&self, key: &str) -> PortResult<bool> {
        let key = key.to_string();
        self.db
            .call(move |conn| {
                conn.query_row(
                    "SELECT EXISTS (SELECT 1 FROM done_keys WHERE key = ?1)",
                    [&key],
                    |r| r.get(0),
                )
                .map_err(db_err)
            })
            .await
    }

    async fn mark_done(&self, key: &str) -> PortResult<()> {
        let (key, now) = (key.to_string(), ts(Utc::now()));
        self.db
            .call(move |conn| {
                conn.execute(
                    "INSERT INTO done_keys (key, at) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
                    [&key, &now],
                )
                .map_err(db_err)?;
                Ok(())
            })
            .await
    }

    /// Idempotent for the same wamid (a retried command re-recording what it sent keeps the
    /// status that has arrived since). `Conflict` if another wamid already holds the same
    /// (command_key, part): two workers sent the same part.
    async fn record_outbound(&self, rec: &OutboundRecord) -> PortResult<()> {
        let rec = rec.clone();
        self.db
            .call(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(db_err)?;
                let holder: Option<String> = tx
                    .query_row(
                        "SELECT wamid FROM messages WHERE command_key = ?1 AND part = ?2",
                        params![rec.command_key, rec.part],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(db_err)?;
                if holder.is_some_and(|w| w != rec.wamid) {
                    // Named by command and part, never by the wamid (errors are logged).
                    return Err(PortError::Conflict(format!(
                        "part {} of {} was already sent as another message",
                        rec.part, rec.command_key
                    )));
                }
                tx.execute(
                    &format!(
                        "INSERT INTO messages ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                         ON CONFLICT (wamid) DO NOTHING"
                    ),
                    params![
                        rec.wamid,
                        rec.to.as_str(),
                        rec.complaint.as_ref().map(|c| c.as_str()),
                        rec.kind,
                        rec.command_key,
                        rec.part,
                        rec.status.as_str(),
                        rec.error,
                        ts(rec.at)
                    ],
                )
                .map_err(db_err)?;
                tx.commit().map_err(db_err)
            })
            .await?;
        // The message is already with Meta: its record on disk at once, so a retry after a
        // power cut finds it instead of sending it again (a no-op without group commit).
        self.db.sync().await
    }

    async fn outbound(&self, wamid: &str) -> PortResult<Option<OutboundRecord>> {
        let wamid = wamid.to_string();
        self.db
            .call(move |conn| read(conn, "wamid = ?1", &[&wamid]))
            .await
    }

    async fn outbound_part(&self, key: &str, part: u32) -> PortResult<Option<OutboundRecord>> {
        let key = key.to_string();
        self.db
            .call(move |conn| read(conn, "command_key = ?1 AND part = ?2", &[&key, &part]))
            .await
    }

    async fn update_status(
        &self,
        wamid: &str,
        status: DeliveryStatus,
        error: Option<String>,
    ) -> PortResult<Option<OutboundRecord>> {
        let wamid = wamid.to_string();
        self.db
            .call(move |conn| {
                // Read and write in one transaction so two status webhooks cannot interleave.
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(db_err)?;
                let Some(mut rec) = read(&tx, "wamid = ?1", &[&wamid])? else {
                    return Ok(None);
                };
                if status.advances(rec.status) {
                    rec.status = status;
                    rec.error = error.or(rec.error);
                    tx.execute(
                        "UPDATE messages SET status = ?2, error = ?3 WHERE wamid = ?1",
                        params![wamid, rec.status.as_str(), rec.error],
                    )
                    .map_err(db_err)?;
                    tx.commit().map_err(db_err)?;
                }
                Ok(Some(rec))
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedded::testutil::{at, store};

    fn rec(wamid: &str, key: &str, part: u32) -> OutboundRecord {
        OutboundRecord {
            wamid: wamid.into(),
            to: Phone::new("919800000001"),
            complaint: Some(ComplaintId::new("AMT", 2026, 1)),
            kind: "ack".into(),
            command_key: key.into(),
            part,
            status: DeliveryStatus::Accepted,
            error: None,
            at: at(0),
        }
    }

    #[tokio::test]
    async fn done_keys_dedupe_and_expire() {
        let (_dir, s) = store();
        assert!(!s.is_done("wamid.IN1").await.expect("fresh"));
        assert!(!s
            .is_done("wamid.IN1")
            .await
            .expect("still fresh: checking is not claiming"));
        s.mark_done("wamid.IN1").await.expect("mark");
        s.mark_done("wamid.IN1").await.expect("mark twice");
        assert!(s.is_done("wamid.IN1").await.expect("done"));
        assert!(!s.is_done("wamid.IN2").await.expect("other"));
        s.record_outbound(&rec("wamid.A", "k", 0)).await.expect("record");
        let gone = s
            .expire_messages_before(Utc::now().max(at(0)) + chrono::Duration::seconds(1))
            .await
            .expect("expire");
        assert_eq!(gone, 2);
        assert!(!s.is_done("wamid.IN1").await.expect("expired"));
        assert_eq!(s.outbound("wamid.A").await.expect("get"), None);
    }
}
