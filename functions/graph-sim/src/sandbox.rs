//! The browser sandbox: a chat page plus the small JSON API it polls and posts to.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::state::normalize_user;
use crate::types::{InboundMedia, SentMessage, SimError};
use crate::GraphSim;

const PAGE: &str = include_str!("sandbox.html");
/// The control-room panel shows only the latest entries.
const LOG_LIMIT: usize = 200;

pub(crate) fn routes() -> Router<GraphSim> {
    Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/sim/api/personas", get(personas))
        .route("/sim/api/chat", get(chat))
        .route("/sim/api/log", get(log))
        .route("/sim/api/sent", get(sent))
        .route("/sim/api/send", post(send))
        .route("/sim/api/upload", post(upload))
        .route("/sim/media/{id}", get(media))
}

/// Fixed-width UTC times so the page can order entries by string comparison.
fn stamp(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn error(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, Json(json!({ "error": msg.into() }))).into_response()
}

fn sim_error(e: SimError) -> Response {
    let status = match e {
        SimError::Invalid(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::BAD_GATEWAY,
    };
    error(status, e.to_string())
}

async fn personas(State(sim): State<GraphSim>) -> Json<Value> {
    let cfg = sim.config();
    let list: Vec<Value> = cfg
        .personas
        .iter()
        .map(|p| json!({ "phone": p.phone, "name": p.name, "label": p.label }))
        .collect();
    Json(json!({
        "business_number": cfg.display_phone_number,
        "webhook_url": sim.inner.lock().webhook_url,
        "personas": list,
    }))
}

#[derive(Deserialize)]
struct ChatQuery {
    phone: String,
}

fn media_of(sim: &GraphSim, payload: Option<&Value>) -> Value {
    let Some(p) = payload else { return Value::Null };
    let id = p.get("id").and_then(Value::as_str);
    let url = match (id, p.get("link").and_then(Value::as_str)) {
        (Some(id), _) => format!("/sim/media/{id}"),
        (None, Some(link)) => link.to_string(),
        (None, None) => return Value::Null,
    };
    // Business sends by id carry no MIME type or maybe no filename; the stored upload knows them.
    let stored = id.and_then(|id| {
        let st = sim.inner.lock();
        st.media
            .get(id)
            .map(|m| (m.mime_type.clone(), m.filename.clone()))
    });
    let mime = p
        .get("mime_type")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| stored.as_ref().map(|s| s.0.clone()));
    let filename = p
        .get("filename")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| stored.and_then(|s| s.1));
    json!({ "id": id, "url": url, "mime_type": mime, "filename": filename })
}

/// Readable text of a message the user sent.
fn inbound_text(m: &Value) -> String {
    let s = |ptr: &str| m.pointer(ptr).and_then(Value::as_str).unwrap_or("").to_string();
    match m.get("type").and_then(Value::as_str).unwrap_or("") {
        "text" => s("/text/body"),
        "interactive" => {
            let t = s("/interactive/button_reply/title");
            if t.is_empty() {
                s("/interactive/list_reply/title")
            } else {
                t
            }
        }
        "button" => s("/button/text"),
        "location" => {
            let lat = m.pointer("/location/latitude").cloned().unwrap_or_default();
            let lon = m.pointer("/location/longitude").cloned().unwrap_or_default();
            format!("📍 {lat}, {lon} {}", s("/location/name"))
                .trim()
                .to_string()
        }
        "contacts" => format!("👤 {}", s("/contacts/0/name/formatted_name")),
        "reaction" => format!("reacted {}", s("/reaction/emoji")),
        "unsupported" => format!("(unsupported: {})", s("/unsupported/type")),
        k => s(&format!("/{k}/caption")),
    }
}

/// Readable text of a business message without button labels (the page renders those).
fn outbound_text(m: &SentMessage) -> String {
    let r = &m.request;
    let s = |ptr: &str| r.pointer(ptr).and_then(Value::as_str).map(str::to_string);
    match m.kind.as_str() {
        "interactive" => [
            s("/interactive/header/text"),
            s("/interactive/body/text"),
            s("/interactive/footer/text"),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("\n"),
        // The page renders the quick replies as buttons and shows the template name apart.
        "template" => m.rendered.as_ref().map(|t| t.text.clone()).unwrap_or_default(),
        _ => m.text(),
    }
}

async fn chat(State(sim): State<GraphSim>, Query(q): Query<ChatQuery>) -> Response {
    let cc = sim.config().country_code().to_string();
    let normalized = normalize_user(&q.phone, &cc);
    if normalized.is_empty() {
        return error(StatusCode::BAD_REQUEST, "phone must be digits or a BSUID");
    }
    let (inbound, sent, reads) = {
        let st = sim.inner.lock();
        let key = st.resolve(&normalized);
        let inbound: Vec<_> = st.inbound.iter().filter(|r| r.key == key).cloned().collect();
        let sent: Vec<_> = st.sent.iter().filter(|(_, m)| m.to == key).cloned().collect();
        (inbound, sent, st.read_marks.clone())
    };
    let mut items: Vec<(u64, Value)> = Vec::new();
    for r in inbound {
        let kind = r
            .message
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        items.push((
            r.seq,
            json!({
                "wamid": r.wamid,
                "direction": "in",
                "kind": kind,
                "text": inbound_text(&r.message),
                "buttons": [],
                "media": media_of(&sim, r.message.get(&kind)),
                "context": r.message.pointer("/context/id"),
                "read": reads.contains(&r.wamid),
                "at": stamp(&r.at),
            }),
        ));
    }
    for (seq, m) in sent {
        items.push((
            seq,
            json!({
                "wamid": m.wamid,
                "direction": "out",
                "kind": m.kind,
                "text": outbound_text(&m),
                "buttons": m.buttons(),
                "media": media_of(&sim, m.request.get(&m.kind)),
                "context": m.context_id(),
                "template": m.template_name(),
                "at": stamp(&m.at),
            }),
        ));
    }
    items.sort_by_key(|(seq, _)| *seq);
    let messages: Vec<Value> = items.into_iter().map(|(_, v)| v).collect();
    Json(json!({ "phone": normalized, "messages": messages })).into_response()
}

async fn log(State(sim): State<GraphSim>) -> Json<Value> {
    let st = sim.inner.lock();
    // Totals per recipient over everything sent, so the page can badge chats with news.
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, m) in &st.sent {
        *counts.entry(m.to.as_str()).or_default() += 1;
    }
    let skip_sent = st.sent.len().saturating_sub(LOG_LIMIT);
    let sent: Vec<Value> = st.sent[skip_sent..]
        .iter()
        .map(|(_, m)| {
            json!({
                "to": m.to,
                "wamid": m.wamid,
                "kind": m.kind,
                "text": m.text(),
                "at": stamp(&m.at),
            })
        })
        .collect();
    let skip_rej = st.rejected.len().saturating_sub(LOG_LIMIT);
    let rejected: Vec<Value> = st.rejected[skip_rej..]
        .iter()
        .map(|r| {
            json!({
                "to": r.to,
                "code": r.code,
                "http_status": r.http_status,
                "kind": r.request.get("type"),
                "at": stamp(&r.at),
            })
        })
        .collect();
    Json(json!({ "sent": sent, "rejected": rejected, "counts": counts }))
}

#[derive(Deserialize)]
struct SentQuery {
    /// Only sends after this sequence number (0: from the start).
    #[serde(default)]
    after: u64,
}

/// Most sends one `/sim/api/sent` answer lists; ask again from `last` for more.
const SENT_PAGE: usize = 5000;

/// Accepted sends in order, after a sequence number, with the time each was accepted to the
/// microsecond: how a load run outside the process sees what arrived and when.
async fn sent(State(sim): State<GraphSim>, Query(q): Query<SentQuery>) -> Json<Value> {
    let st = sim.inner.lock();
    let start = st.sent.partition_point(|(seq, _)| *seq <= q.after);
    let page = &st.sent[start..st.sent.len().min(start + SENT_PAGE)];
    let messages: Vec<Value> = page
        .iter()
        .map(|(seq, m)| {
            json!({
                "seq": seq,
                "to": m.to,
                "kind": m.kind,
                "template": m.template_name(),
                "at_us": m.at.timestamp_micros(),
            })
        })
        .collect();
    let last = page.last().map_or(q.after, |(seq, _)| *seq);
    Json(json!({ "messages": messages, "last": last }))
}

#[derive(Deserialize)]
struct IdTitle {
    id: String,
    title: String,
}

#[derive(Deserialize)]
struct PayloadText {
    payload: String,
    text: Option<String>,
}

#[derive(Deserialize)]
struct Location {
    lat: f64,
    lon: f64,
    name: Option<String>,
    address: Option<String>,
}

#[derive(Deserialize)]
struct SendRequest {
    from: String,
    text: Option<String>,
    context: Option<String>,
    button: Option<IdTitle>,
    list: Option<IdTitle>,
    template_button: Option<PayloadText>,
    location: Option<Location>,
}

async fn send(State(sim): State<GraphSim>, body: Bytes) -> Response {
    let req: SendRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("bad request: {e}")),
    };
    let from = req.from.as_str();
    let ctx = req.context.as_deref().filter(|c| !c.is_empty());
    let result = if let Some(b) = req.button {
        sim.tap_button(from, ctx.unwrap_or_default(), &b.id, &b.title)
            .await
    } else if let Some(l) = req.list {
        sim.choose_list_row(from, ctx.unwrap_or_default(), &l.id, &l.title)
            .await
    } else if let Some(t) = req.template_button {
        let text = t.text.unwrap_or_else(|| t.payload.clone());
        sim.tap_template_button(from, ctx.unwrap_or_default(), &t.payload, &text)
            .await
    } else if let Some(l) = req.location {
        sim.send_location(from, l.lat, l.lon, l.name.as_deref(), l.address.as_deref())
            .await
    } else if let Some(text) = req.text.filter(|t| !t.trim().is_empty()) {
        match ctx {
            Some(c) => sim.send_reply_text(from, c, &text).await,
            None => sim.send_text(from, &text).await,
        }
    } else {
        return error(StatusCode::BAD_REQUEST, "nothing to send");
    };
    match result {
        Ok(wamid) => Json(json!({ "wamid": wamid })).into_response(),
        Err(e) => sim_error(e),
    }
}

#[derive(Deserialize)]
struct UploadQuery {
    from: String,
    caption: Option<String>,
    /// image | video | audio | voice | document | sticker; guessed from Content-Type when absent.
    kind: Option<String>,
    filename: Option<String>,
    context: Option<String>,
}

async fn upload(
    State(sim): State<GraphSim>,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if body.is_empty() {
        return error(StatusCode::BAD_REQUEST, "empty file");
    }
    let mime = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_string();
    let kind = q.kind.filter(|k| !k.is_empty()).unwrap_or_else(|| {
        let major = mime.split('/').next().unwrap_or("");
        match major {
            "image" | "video" | "audio" => major.to_string(),
            _ => "document".to_string(),
        }
    });
    let mut m = match kind.as_str() {
        "voice" => InboundMedia::voice_note(body.to_vec()),
        k => InboundMedia::new(k, body.to_vec(), &mime),
    };
    if kind == "voice" && !mime.starts_with("audio/ogg") {
        // Browsers record webm/mp4; keep the real type so the bytes stay truthful.
        m.mime_type = mime.clone();
    }
    m.caption = q.caption.filter(|c| !c.is_empty());
    m.filename = q.filename.filter(|f| !f.is_empty());
    if m.kind == "document" && m.filename.is_none() {
        m.filename = Some("file".to_string());
    }
    m.context_wamid = q.context.filter(|c| !c.is_empty());
    m.include_url = true;
    match sim.send_media(&q.from, m).await {
        Ok(wamid) => Json(json!({ "wamid": wamid })).into_response(),
        Err(e) => sim_error(e),
    }
}

async fn media(State(sim): State<GraphSim>, Path(id): Path<String>) -> Response {
    crate::graph::media_bytes(&sim, &id)
}
