//! Template management as Meta's Business Management API serves it: list and create on
//! `/{waba-id}/message_templates`, edit on `/{template-id}`.
//!
//! Meta reviews a new or edited template before it may be sent (PENDING, then APPROVED or
//! REJECTED). The simulator has no reviewer: a submission that passes Meta's definition checks is
//! APPROVED at once, so a test can create a template and send it straight away.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::graph::{bad_version, base_url, valid_version};
use crate::templates::{check_components, str_at, APPROVED};
use crate::types::array;
use crate::validate::GraphErr;
use crate::GraphSim;

/// Meta's default page size for edges.
const DEFAULT_LIMIT: usize = 25;

pub(crate) fn routes() -> Router<GraphSim> {
    Router::new().route(
        "/graph/{version}/{id}/message_templates",
        get(list_templates).post(create_template),
    )
}

/// Token, version and WABA id, checked as on the other Graph routes.
fn gate(sim: &GraphSim, headers: &HeaderMap, version: &str, waba: Option<&str>) -> Result<(), GraphErr> {
    if !sim.authorized(headers) {
        return Err(GraphErr::auth());
    }
    if !valid_version(version) {
        return Err(bad_version(version));
    }
    match waba {
        Some(id) if id != sim.inner.cfg.waba_id => Err(GraphErr::not_found(id)),
        _ => Ok(()),
    }
}

fn json_body(body: &Bytes) -> Result<Value, GraphErr> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| GraphErr::invalid("The request body must be a JSON object."))
}

#[derive(Deserialize)]
struct ListQuery {
    name: Option<String>,
    limit: Option<usize>,
    after: Option<String>,
}

fn cursor(offset: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("offset:{offset}"))
}

fn offset_of(cursor: &str) -> Option<usize> {
    let raw = base64::engine::general_purpose::STANDARD.decode(cursor).ok()?;
    String::from_utf8(raw).ok()?.strip_prefix("offset:")?.parse().ok()
}

/// Percent-encodes a query value (names are `[a-z0-9_]`, but a filter may be anything).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'-' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn list_templates(
    State(sim): State<GraphSim>,
    Path((version, waba)): Path<(String, String)>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = gate(&sim, &headers, &version, Some(&waba)) {
        return e.into_response();
    }
    let limit = q.limit.filter(|l| *l > 0).unwrap_or(DEFAULT_LIMIT);
    let start = match q.after.as_deref().map(offset_of) {
        None => 0,
        Some(Some(o)) => o,
        Some(None) => return GraphErr::invalid("Param after is not a valid cursor.").into_response(),
    };
    let matching: Vec<Value> = sim
        .inner
        .lock()
        .templates
        .items
        .iter()
        // Meta's `name` filter matches part of the name.
        .filter(|t| q.name.as_deref().is_none_or(|n| t.name.contains(n)))
        .map(|t| t.to_json())
        .collect();
    let end = matching.len().min(start.saturating_add(limit));
    let page: Vec<Value> = matching
        .get(start..end)
        .map(<[Value]>::to_vec)
        .unwrap_or_default();
    let mut paging = json!({ "cursors": { "before": cursor(start), "after": cursor(end) } });
    if end < matching.len() {
        let mut next = format!(
            "{}/graph/{version}/{waba}/message_templates?limit={limit}&after={}",
            base_url(&sim, &headers),
            encode(&cursor(end))
        );
        if let Some(n) = &q.name {
            next.push_str(&format!("&name={}", encode(n)));
        }
        paging["next"] = json!(next);
    }
    Json(json!({ "data": page, "paging": paging })).into_response()
}

async fn create_template(
    State(sim): State<GraphSim>,
    Path((version, waba)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(e) = gate(&sim, &headers, &version, Some(&waba)) {
        return e.into_response();
    }
    let def = match json_body(&body) {
        Ok(d) => d,
        Err(e) => return e.into_response(),
    };
    let mut st = sim.inner.lock();
    match st.templates.add(&def) {
        Ok(t) => Json(json!({ "id": t.id, "status": t.status, "category": t.category })).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `POST /{version}/{template-id}`: new components (and category). Name and language are fixed.
pub(crate) async fn edit_template(
    State(sim): State<GraphSim>,
    Path((version, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(e) = gate(&sim, &headers, &version, None) {
        return e.into_response();
    }
    let edit = match json_body(&body) {
        Ok(d) => d,
        Err(e) => return e.into_response(),
    };
    if edit.get("name").is_some() || edit.get("language").is_some() {
        return GraphErr::invalid("A template's name and language cannot be edited.").into_response();
    }
    let category = edit
        .get("category")
        .map(|_| str_at(&edit, "category").to_ascii_uppercase());
    if let Some(c) = &category {
        if !["UTILITY", "MARKETING", "AUTHENTICATION"].contains(&c.as_str()) {
            return GraphErr::invalid(format!(
                "Param category must be UTILITY, MARKETING or AUTHENTICATION (got {c:?})."
            ))
            .into_response();
        }
    }
    let components = edit
        .get("components")
        .map(|_| array(edit.get("components")).to_vec());
    if let Some(c) = &components {
        if let Err(e) = check_components(c) {
            return e.into_response();
        }
    }
    let mut st = sim.inner.lock();
    let Some(t) = st.templates.by_id_mut(&id) else {
        return GraphErr::not_found(&id).into_response();
    };
    if let Some(c) = components {
        t.components = c;
    }
    if let Some(c) = category {
        t.category = c;
    }
    // No review here: the edit is live at once.
    t.status = APPROVED.to_string();
    Json(json!({ "success": true })).into_response()
}
