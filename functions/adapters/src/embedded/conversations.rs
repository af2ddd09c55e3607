//! `Conversations` on `SqliteStore`: per-person state, written conditionally on its version.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};
use shikayat_core::conversation::Conversation;
use shikayat_core::ids::Phone;
use shikayat_core::pacing::{take, PairRate};
use shikayat_core::ports::{Conversations, PortError, PortResult};

use super::db::{db_err, json_err};
use super::store::SqliteStore;

#[async_trait]
impl Conversations for SqliteStore {
    async fn get(&self, phone: &Phone) -> PortResult<Conversation> {
        let key = phone.as_str().to_string();
        let row: Option<(u64, String)> = self
            .db
            .call(move |conn| {
                conn.query_row(
                    "SELECT version, doc FROM conversations WHERE phone = ?1",
                    [&key],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(db_err)
            })
            .await?;
        match row {
            None => Ok(Conversation::new(phone.clone())),
            Some((version, doc)) => {
                let mut c: Conversation =
                    serde_json::from_str(&doc).map_err(|e| json_err("conversation", e))?;
                c.version = version;
                Ok(c)
            }
        }
    }

    async fn put(&self, c: &mut Conversation) -> PortResult<()> {
        let expected = c.version;
        let mut stored = c.clone();
        stored.version = expected + 1;
        let doc = serde_json::to_string(&stored).map_err(|e| json_err("conversation", e))?;
        let phone = c.phone.as_str().to_string();
        self.db
            .call(move |conn| {
                // One statement either way, so no transaction is needed for atomicity.
                let changed = if expected == 0 {
                    conn.execute(
                        "INSERT INTO conversations (phone, version, doc) VALUES (?1, 1, ?2)
                         ON CONFLICT (phone) DO NOTHING",
                        params![phone, doc],
                    )
                } else {
                    conn.execute(
                        "UPDATE conversations SET version = ?2, doc = ?3 WHERE phone = ?1 AND version = ?4",
                        params![phone, expected + 1, doc, expected],
                    )
                }
                .map_err(db_err)?;
                if changed == 0 {
                    // No number, not even masked: the caller's span names the person by id.
                    return Err(PortError::Conflict(format!(
                        "the conversation moved past version {expected}"
                    )));
                }
                Ok(())
            })
            .await?;
        c.version = expected + 1;
        Ok(())
    }

    /// The `pacing` table's `phone` column holds the person's keyed-hash id, never the number.
    async fn take_send_slot(
        &self,
        who: &str,
        now: chrono::DateTime<chrono::Utc>,
        rate: PairRate,
    ) -> PortResult<Result<(), chrono::Duration>> {
        let key = who.to_string();
        self.db
            .call(move |conn| {
                // Read and write in one immediate transaction: two consumers never share a slot.
                let tx = conn
                    .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                    .map_err(db_err)?;
                let stored: Option<i64> = tx
                    .query_row("SELECT tat_ms FROM pacing WHERE phone = ?1", [&key], |r| r.get(0))
                    .optional()
                    .map_err(db_err)?;
                let tat = stored.and_then(chrono::DateTime::from_timestamp_millis);
                let next = match take(tat, now, rate) {
                    Ok(next) => next,
                    Err(wait) => return Ok(Err(wait)),
                };
                tx.execute(
                    "INSERT INTO pacing (phone, tat_ms) VALUES (?1, ?2)
                     ON CONFLICT (phone) DO UPDATE SET tat_ms = excluded.tat_ms",
                    params![key, next.timestamp_millis()],
                )
                .map_err(db_err)?;
                tx.commit().map_err(db_err)?;
                Ok(Ok(()))
            })
            .await
    }
}
