//! `Conversations` on `SqliteStore`: per-person state, written conditionally on its version.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};
use shikayat_core::conversation::Conversation;
use shikayat_core::ids::Phone;
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
                    return Err(PortError::Conflict(format!(
                        "conversation with {} moved past version {expected}",
                        shikayat_core::ids::mask(&phone)
                    )));
                }
                Ok(())
            })
            .await?;
        c.version = expected + 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedded::testutil::{at, store};
    use shikayat_core::conversation::Draft;
    use shikayat_core::ids::ComplaintId;

    #[tokio::test]
    async fn conditional_put() {
        let (_dir, s) = store();
        let phone = Phone::new("919800000001");
        let mut fresh = s.get(&phone).await.expect("get");
        assert_eq!(fresh, Conversation::new(phone.clone()));

        fresh.last_inbound_at = Some(at(0));
        fresh.draft = Some(Draft {
            complaint: ComplaintId::new("AMT", 2026, 1),
            settles_at: at(120),
        });
        s.put(&mut fresh).await.expect("insert");
        assert_eq!(fresh.version, 1);
        assert_eq!(s.get(&phone).await.expect("get"), fresh);

        // Someone else also started from "new": the second insert loses.
        let mut other = Conversation::new(phone.clone());
        assert!(matches!(s.put(&mut other).await, Err(PortError::Conflict(_))));
        assert_eq!(other.version, 0);

        // Two writers read version 1; only the first wins.
        let mut a = s.get(&phone).await.expect("get");
        let mut b = a.clone();
        a.draft = None;
        s.put(&mut a).await.expect("first");
        assert_eq!(a.version, 2);
        b.last_inbound_at = Some(at(5));
        assert!(matches!(s.put(&mut b).await, Err(PortError::Conflict(_))));
        let stored = s.get(&phone).await.expect("get");
        assert_eq!(
            (stored.version, stored.draft, stored.last_inbound_at),
            (2, None, Some(at(0)))
        );
    }
}
