//! `Directory` on `SqliteStore`: the people of the district config, loaded into `directory` and
//! `person_departments`. Lists come back in config order (rowid order), so whoever the
//! administrator listed first for a department stays first.

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, ToSql, TransactionBehavior};
use shikayat_core::config::{DistrictConfig, Person, Role};
use shikayat_core::ids::Phone;
use shikayat_core::ports::{Directory, PortResult};

use super::db::{db_err, json_err};
use super::store::SqliteStore;

fn people(conn: &Connection, sql: &str, args: &[&dyn ToSql]) -> PortResult<Vec<Person>> {
    let mut stmt = conn.prepare_cached(sql).map_err(db_err)?;
    let rows = stmt.query_map(args, |r| r.get::<_, String>(0)).map_err(db_err)?;
    let mut out = Vec::new();
    for row in rows {
        let doc = row.map_err(db_err)?;
        out.push(serde_json::from_str(&doc).map_err(|e| json_err("person", e))?);
    }
    Ok(out)
}

impl SqliteStore {
    /// Replaces the whole directory with the config's people in one transaction, so a reader
    /// sees either the old directory or the new one.
    pub async fn load_directory(&self, cfg: &DistrictConfig) -> PortResult<()> {
        let mut rows = Vec::with_capacity(cfg.people.len());
        for p in &cfg.people {
            let doc = serde_json::to_string(p).map_err(|e| json_err("person", e))?;
            rows.push((
                p.phone.as_str().to_string(),
                p.role.as_str(),
                doc,
                p.departments.clone(),
            ));
        }
        self.db
            .call(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(db_err)?;
                // person_departments goes with its people (ON DELETE CASCADE).
                tx.execute("DELETE FROM directory", []).map_err(db_err)?;
                {
                    let mut person = tx
                        .prepare("INSERT INTO directory (phone, role, doc) VALUES (?1, ?2, ?3)")
                        .map_err(db_err)?;
                    let mut dept = tx
                        .prepare(
                            "INSERT OR IGNORE INTO person_departments (phone, department) VALUES (?1, ?2)",
                        )
                        .map_err(db_err)?;
                    for (phone, role, doc, departments) in &rows {
                        person.execute(params![phone, role, doc]).map_err(db_err)?;
                        for d in departments {
                            dept.execute(params![phone, d]).map_err(db_err)?;
                        }
                    }
                }
                tx.commit().map_err(db_err)
            })
            .await
    }
}

#[async_trait]
impl Directory for SqliteStore {
    async fn person(&self, phone: &Phone) -> PortResult<Option<Person>> {
        let phone = phone.as_str().to_string();
        self.db
            .call(move |conn| {
                let doc: Option<String> = conn
                    .query_row("SELECT doc FROM directory WHERE phone = ?1", [&phone], |r| {
                        r.get(0)
                    })
                    .optional()
                    .map_err(db_err)?;
                doc.map(|d| serde_json::from_str(&d).map_err(|e| json_err("person", e)))
                    .transpose()
            })
            .await
    }

    async fn officers_of(&self, department: &str) -> PortResult<Vec<Person>> {
        let department = department.to_string();
        let officer = Role::Officer.as_str();
        self.db
            .call(move |conn| {
                people(
                    conn,
                    "SELECT d.doc FROM directory d JOIN person_departments pd ON pd.phone = d.phone
                     WHERE pd.department = ?1 AND d.role = ?2 ORDER BY d.rowid",
                    &[&department, &officer],
                )
            })
            .await
    }

    async fn with_role(&self, role: Role) -> PortResult<Vec<Person>> {
        let role = role.as_str();
        self.db
            .call(move |conn| {
                people(
                    conn,
                    "SELECT doc FROM directory WHERE role = ?1 ORDER BY rowid",
                    &[&role],
                )
            })
            .await
    }
}
