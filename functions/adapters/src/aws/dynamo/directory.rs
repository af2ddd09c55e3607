//! `Directory` on the directory table, and the district config in the settings table.
//!
//! The directory is keyed (`phone`, `entry`): each person has one `entry = person` item (name,
//! role, departments, reports_to, `doc`) and one `entry = department#<id>` item per department
//! they serve, because a DynamoDB index key must be a single value and an officer may serve
//! several departments. Both carry `rank`, the person's place in the config, so lists come back
//! in config order as the embedded directory's do. Indexes: `by-role` (`role`, `rank`; person
//! items only) and `by-department` (`department`, `rank`; membership items only).

use std::collections::HashSet;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, WriteRequest};
use chrono::Utc;
use shikayat_core::config::{DistrictConfig, Person, Role};
use shikayat_core::ids::Phone;
use shikayat_core::ports::{Directory, PortError, PortResult};

use super::{build_err, doc, get_s, index, n, put_opt, s, to_json, ts, DynamoStore, Item};
use crate::aws::error::port_err;

const PERSON: &str = "person";
const ROLES: [Role; 3] = [Role::Officer, Role::ControlRoom, Role::Supervisor];
/// The settings item holding the district configuration as TOML.
const DISTRICT_CONFIG: &str = "district_config";
/// BatchWriteItem takes at most 25 requests.
const BATCH: usize = 25;

fn membership(department: &str) -> String {
    format!("department#{department}")
}

fn key(phone: &str, entry: &str) -> Item {
    Item::from([("phone".to_string(), s(phone)), ("entry".to_string(), s(entry))])
}

impl DynamoStore {
    /// Replaces the directory with the config's people: writes every person and membership,
    /// then deletes the items of people and departments no longer listed. DynamoDB has no
    /// transaction this large, so a reader during a load may briefly see both old and new
    /// entries; a load is an administrator's action, and the end state is exact.
    pub async fn load_directory(&self, cfg: &DistrictConfig) -> PortResult<()> {
        let mut puts = Vec::new();
        let mut keep = HashSet::new();
        for (rank, p) in cfg.people.iter().enumerate() {
            let body = to_json(p, "person")?;
            let phone = p.phone.as_str();
            let mut person = key(phone, PERSON);
            person.insert("name".into(), s(&p.name));
            person.insert("role".into(), s(p.role.as_str()));
            person.insert("rank".into(), n(rank));
            if !p.departments.is_empty() {
                person.insert("departments".into(), s(p.departments.join(", ")));
            }
            put_opt(
                &mut person,
                "reports_to",
                p.reports_to.as_ref().map(|r| r.as_str().to_string()),
            );
            put_opt(&mut person, "designation", p.designation.clone());
            person.insert("doc".into(), s(&body));
            keep.insert((phone.to_string(), PERSON.to_string()));
            puts.push(person);
            for d in &p.departments {
                let mut m = key(phone, &membership(d));
                m.insert("department".into(), s(d));
                m.insert("name".into(), s(&p.name));
                m.insert("person_role".into(), s(p.role.as_str()));
                m.insert("rank".into(), n(rank));
                m.insert("doc".into(), s(&body));
                if keep.insert((phone.to_string(), membership(d))) {
                    puts.push(m);
                }
            }
        }
        let mut stale = Vec::new();
        for role in ROLES {
            for old in self.people_with_role(role).await? {
                let phone = old.phone.as_str().to_string();
                let entries =
                    std::iter::once(PERSON.to_string()).chain(old.departments.iter().map(|d| membership(d)));
                for entry in entries {
                    if !keep.contains(&(phone.clone(), entry.clone())) {
                        stale.push(key(&phone, &entry));
                    }
                }
            }
        }
        let mut requests = Vec::new();
        for item in puts {
            let put = PutRequest::builder()
                .set_item(Some(item))
                .build()
                .map_err(build_err)?;
            requests.push(WriteRequest::builder().put_request(put).build());
        }
        self.batch_write(requests).await?;
        let mut requests = Vec::new();
        for k in stale {
            let del = DeleteRequest::builder()
                .set_key(Some(k))
                .build()
                .map_err(build_err)?;
            requests.push(WriteRequest::builder().delete_request(del).build());
        }
        self.batch_write(requests).await
    }

    async fn batch_write(&self, requests: Vec<WriteRequest>) -> PortResult<()> {
        let table = self.names.directory();
        for chunk in requests.chunks(BATCH) {
            let mut pending = chunk.to_vec();
            for attempt in 0.. {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&table, pending)
                    .send()
                    .await
                    .map_err(|e| port_err("load directory", e))?;
                pending = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&table))
                    .unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                if attempt >= 8 {
                    return Err(PortError::Transient(format!(
                        "load directory: {} writes still unprocessed",
                        pending.len()
                    )));
                }
                // Unprocessed items mean throttling: back off before asking again.
                tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
            }
        }
        Ok(())
    }

    async fn people_with_role(&self, role: Role) -> PortResult<Vec<Person>> {
        let q = self
            .client
            .query()
            .table_name(self.names.directory())
            .index_name(index::DIRECTORY_BY_ROLE)
            .key_condition_expression("#role = :role")
            .expression_attribute_names("#role", "role")
            .expression_attribute_values(":role", s(role.as_str()));
        let items = self.query_all("people with role", q, None).await?;
        items.iter().map(|i| doc(i, "person")).collect()
    }

    /// Stores the district configuration (TOML) in the settings table, after checking it parses
    /// and validates, so a broken file never reaches the functions.
    pub async fn put_district_config(&self, toml: &str) -> PortResult<()> {
        DistrictConfig::from_toml(toml).map_err(|e| PortError::Permanent(format!("district config: {e}")))?;
        self.client
            .put_item()
            .table_name(self.names.settings())
            .item("name", s(DISTRICT_CONFIG))
            .item("toml", s(toml))
            .item("updated_at", s(ts(Utc::now())))
            .send()
            .await
            .map_err(|e| port_err("put district config", e))?;
        Ok(())
    }

    /// The stored district configuration (TOML), if any.
    pub async fn district_config(&self) -> PortResult<Option<String>> {
        let out = self
            .client
            .get_item()
            .table_name(self.names.settings())
            .key("name", s(DISTRICT_CONFIG))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| port_err("get district config", e))?;
        Ok(out.item.as_ref().and_then(|i| get_s(i, "toml")).map(String::from))
    }
}

#[async_trait]
impl Directory for DynamoStore {
    async fn person(&self, phone: &Phone) -> PortResult<Option<Person>> {
        let out = self
            .client
            .get_item()
            .table_name(self.names.directory())
            .set_key(Some(key(phone.as_str(), PERSON)))
            .send()
            .await
            .map_err(|e| port_err("get person", e))?;
        out.item.as_ref().map(|i| doc(i, "person")).transpose()
    }

    async fn officers_of(&self, department: &str) -> PortResult<Vec<Person>> {
        let q = self
            .client
            .query()
            .table_name(self.names.directory())
            .index_name(index::DIRECTORY_BY_DEPARTMENT)
            .key_condition_expression("department = :d")
            .filter_expression("person_role = :officer")
            .expression_attribute_values(":d", s(department))
            .expression_attribute_values(":officer", s(Role::Officer.as_str()));
        let items = self.query_all("officers_of", q, None).await?;
        items.iter().map(|i| doc(i, "person")).collect()
    }

    async fn with_role(&self, role: Role) -> PortResult<Vec<Person>> {
        self.people_with_role(role).await
    }
}
