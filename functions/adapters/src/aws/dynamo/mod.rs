//! `DynamoStore`: complaints and their timelines, the message log, conversations, the directory
//! and settings, one DynamoDB table each (DESIGN §4).
//!
//! Items are written for an administrator reading them in the console: plain attribute names,
//! fixed-width ISO-8601 UTC times (`2026-11-28T10:00:00.000000Z`, so text order is time order,
//! the same width as the embedded store's), and the whole record as a `doc` JSON string, which
//! is what reads decode (lossless, whatever the plain attributes show).
//!
//! Every query goes through a key or an index; nothing here ever scans a table.

mod complaints;
mod conversations;
mod directory;
mod messages;

use std::collections::HashMap;
use std::str::FromStr;

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, SecondsFormat, Utc};
use shikayat_core::ports::{PortError, PortResult};

use super::error::port_err;
use super::{AwsClients, AwsNames};

pub(crate) type Item = HashMap<String, AttributeValue>;

/// Index names, shared with `provision`.
pub(crate) mod index {
    /// Complaints: the complainant's, newest first (keys only).
    pub const COMPLAINANT: &str = "complainant";
    /// Complaints: an officer's open ones by deadline (keys only).
    pub const OFFICER_OPEN: &str = "officer-open";
    /// Complaints: a department's open ones by creation, closed ones by closing (keys and
    /// `created_at`).
    pub const DEPARTMENT_STATE: &str = "department-state";
    /// Complaints: the open ones by next action, sharded (keys and `due_at`).
    pub const OPEN_NEXT: &str = "open-next";
    /// Directory: department memberships, in config order.
    pub const DIRECTORY_BY_DEPARTMENT: &str = "by-department";
    /// Directory: people by role, in config order.
    pub const DIRECTORY_BY_ROLE: &str = "by-role";
}

/// Implements `ComplaintStore`, `MessageLog`, `Conversations` and `Directory`.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    pub(crate) client: aws_sdk_dynamodb::Client,
    pub(crate) names: AwsNames,
}

impl DynamoStore {
    pub fn new(clients: &AwsClients, names: &AwsNames) -> Self {
        Self {
            client: clients.dynamo.clone(),
            names: names.clone(),
        }
    }

    pub fn names(&self) -> &AwsNames {
        &self.names
    }

    /// Runs `q` to the last page (or until `limit` items), in index order.
    pub(crate) async fn query_all(
        &self,
        what: &str,
        q: QueryFluentBuilder,
        limit: Option<usize>,
    ) -> PortResult<Vec<Item>> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut page = q.clone().set_exclusive_start_key(start.take());
            if let Some(l) = limit {
                // Without a filter, `Limit` bounds the items returned: ask for no more than needed.
                page = page.limit(i32::try_from(l - out.len()).unwrap_or(i32::MAX));
            }
            let resp = page.send().await.map_err(|e| port_err(what, e))?;
            out.extend(resp.items.unwrap_or_default());
            if limit.is_some_and(|l| out.len() >= l) {
                out.truncate(limit.unwrap_or(usize::MAX));
                return Ok(out);
            }
            match resp.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(out),
            }
        }
    }
}

/// Fixed-width UTC with microseconds: sorts as text, and agrees to the microsecond with the
/// embedded store (times from `Utc::now()` carry sub-millisecond parts).
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: impl std::fmt::Display) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(crate) fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

pub(crate) fn get_n<T: FromStr>(item: &Item, name: &str) -> Option<T> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

/// The `doc` attribute decoded.
pub(crate) fn doc<T: serde::de::DeserializeOwned>(item: &Item, what: &str) -> PortResult<T> {
    let raw = get_s(item, "doc").ok_or_else(|| PortError::Permanent(format!("{what}: no doc attribute")))?;
    serde_json::from_str(raw).map_err(|e| PortError::Permanent(format!("{what}: bad JSON in doc: {e}")))
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T, what: &str) -> PortResult<String> {
    serde_json::to_string(v).map_err(|e| PortError::Permanent(format!("{what}: {e}")))
}

pub(crate) fn build_err(e: aws_sdk_dynamodb::error::BuildError) -> PortError {
    PortError::Permanent(format!("dynamodb request: {e}"))
}

/// Sets `name` only when there is a value (absent attributes keep sparse indexes sparse).
pub(crate) fn put_opt(item: &mut Item, name: &str, v: Option<String>) {
    if let Some(v) = v {
        item.insert(name.to_string(), s(v));
    }
}
