//! The Graph API surface: `/messages`, media upload, lookup and download.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::faults::Fault;
use crate::state::{ext_for, is_bsuid, media_kind, new_wamid, normalize_user, MediaItem};
use crate::template_send;
use crate::templates::APPROVED;
use crate::types::{array, MediaRequest, RejectedSend, SentMessage};
use crate::validate::{validate_send, GraphErr};
use crate::GraphSim;

const WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

pub(crate) fn routes() -> Router<GraphSim> {
    Router::new()
        .route("/graph/media-download/{id}", get(download_media))
        .route("/graph/{version}/{id}/messages", post(send_message))
        .route("/graph/{version}/{id}/media", post(upload_media))
        .route(
            "/graph/{version}/{id}",
            get(lookup_media)
                .delete(delete_media)
                .post(crate::manage::edit_template),
        )
}

pub(crate) fn valid_version(v: &str) -> bool {
    v.strip_prefix('v')
        .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

pub(crate) fn bad_version(v: &str) -> GraphErr {
    GraphErr::new(
        StatusCode::BAD_REQUEST,
        2500,
        "Unknown path components",
        &format!("'{v}' is not a Graph API version (expected e.g. v25.0)."),
    )
}

impl GraphSim {
    pub(crate) fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
            return false;
        };
        let mut parts = value.trim().splitn(2, ' ');
        let scheme = parts.next().unwrap_or("");
        let token = parts.next().unwrap_or("").trim();
        scheme.eq_ignore_ascii_case("bearer") && token == self.inner.cfg.access_token
    }

    /// Draws from the fault plan for one Graph call to `what` on `target`.
    fn fault(&self, what: &str, target: &str) -> Option<Fault> {
        let fault = self.inner.lock().faults.draw_for(what, target);
        if let Some(f) = fault {
            tracing::debug!(what, fault = ?f, "graph-sim injected a fault");
        }
        fault
    }

    fn note_media_request(&self, media_id: &str, what: &str, authorized: bool) {
        self.inner.lock().media_requests.push(MediaRequest {
            media_id: media_id.to_string(),
            what: what.to_string(),
            authorized,
        });
    }

    fn reject(&self, to: &str, err: GraphErr, request: Value) -> Response {
        // No recipient in the line: in sandbox mode this log is the desk's own (no numbers).
        tracing::debug!(code = err.code, "graph-sim refused a send");
        self.inner.lock().rejected.push(RejectedSend {
            to: to.to_string(),
            code: err.code,
            http_status: err.status.as_u16(),
            request,
            at: Utc::now(),
        });
        err.into_response()
    }

    /// Applies Meta's delivery rules to a valid send; on success records it and returns the
    /// Graph response body.
    fn accept_send(&self, kind: String, body: &Value) -> Result<(Value, SentMessage), (String, GraphErr)> {
        let cfg = &self.inner.cfg;
        let raw_to = body
            .get("recipient")
            .or_else(|| body.get("to"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let normalized = normalize_user(raw_to, cfg.country_code());
        if normalized.is_empty() {
            return Err((String::new(), GraphErr::invalid("The parameter to is required.")));
        }
        let mut st = self.inner.lock();
        let key = st.resolve(&normalized);
        let fail = |e: GraphErr| Err((key.clone(), e));

        // Media sent by id must be media the simulator knows (uploaded or received), of the kind
        // the message type says: Meta answers a mismatch with 131053 (reference §7).
        let mut media = None;
        if let Some(id) = body.pointer(&format!("/{kind}/id")).and_then(Value::as_str) {
            match st.media.get(id) {
                Some(item) if kind == "template" || media_kind(&item.mime_type) == kind => {
                    media = Some(item.bytes.clone())
                }
                Some(item) => return fail(media_mismatch(&kind, id, &item.mime_type)),
                None => {
                    return fail(GraphErr::invalid(format!(
                        "Param {kind}['id'] is not a valid media id: {id}"
                    )))
                }
            }
        }
        // Reply buttons' media header, by id: media the simulator knows, of the header's kind,
        // shown above the body as the recipient sees it.
        if kind == "interactive" {
            let i = body.get("interactive").unwrap_or(&Value::Null);
            let h = i.pointer("/header/type").and_then(Value::as_str).unwrap_or("");
            if matches!(h, "image" | "video" | "document") {
                let Some(id) = i.pointer(&format!("/header/{h}/id")).and_then(Value::as_str) else {
                    return fail(GraphErr::invalid(format!(
                        "Param interactive['header']['{h}']['id'] is required."
                    )));
                };
                match st.media.get(id) {
                    Some(item) if media_kind(&item.mime_type) == h => media = Some(item.bytes.clone()),
                    Some(item) => return fail(media_mismatch(h, id, &item.mime_type)),
                    None => {
                        return fail(GraphErr::invalid(format!(
                            "Param interactive['header']['{h}']['id'] is not a valid media id: {id}"
                        )))
                    }
                }
            }
        }
        // A template must be an approved translation, sent with what its definition asks for.
        let mut rendered = None;
        if kind == "template" {
            let t = body.get("template").unwrap_or(&Value::Null);
            let name = t.get("name").and_then(Value::as_str).unwrap_or("");
            let language = t.pointer("/language/code").and_then(Value::as_str).unwrap_or("");
            let found = st
                .templates
                .find(name, language)
                .filter(|tpl| tpl.status == APPROVED);
            let Some(tpl) = found else {
                return fail(template_send::not_found(name, language));
            };
            match template_send::check_send(tpl, t, &st.media) {
                Ok(r) => rendered = Some(r),
                Err(e) => return fail(e),
            }
            // The header's media, as the recipient sees it above the template's text.
            let header_id = array(t.get("components"))
                .iter()
                .filter(|c| c.get("type").and_then(Value::as_str) == Some("header"))
                .flat_map(|c| array(c.get("parameters")))
                .find_map(|p| {
                    let kind = p.get("type").and_then(Value::as_str)?;
                    p.pointer(&format!("/{kind}/id")).and_then(Value::as_str)
                });
            if let Some(item) = header_id.and_then(|id| st.media.get(id)) {
                media = Some(item.bytes.clone());
            }
        }
        if st.unreachable.contains(&key) {
            return fail(GraphErr::undeliverable());
        }
        if let Some((status, code)) = st.failures.get_mut(&key).and_then(|q| q.pop_front()) {
            return fail(GraphErr::injected(status, code));
        }
        if cfg.enforce_window && kind != "template" {
            let open = st.last_inbound.get(&key).is_some_and(|t| {
                Utc::now()
                    .signed_duration_since(*t)
                    .to_std()
                    .map_or(true, |age| age < WINDOW)
            });
            if !open {
                return fail(GraphErr::re_engagement());
            }
        }
        if let (Some(min), Some(last)) = (cfg.pair_min_interval, st.last_accepted.get(&key)) {
            if last.elapsed() < min {
                return fail(GraphErr::pair_rate());
            }
        }

        let wamid = new_wamid(&key);
        let msg = SentMessage {
            wamid: wamid.clone(),
            to: key.clone(),
            kind,
            request: body.clone(),
            at: Utc::now(),
            media,
            rendered,
        };
        let seq = st.next_seq();
        st.sent.push((seq, msg.clone()));
        st.last_accepted.insert(key.clone(), std::time::Instant::now());
        drop(st);
        self.inner.sent_notify.notify_waiters();

        let contact = if is_bsuid(&key) {
            json!({ "input": raw_to, "user_id": key })
        } else {
            json!({ "input": raw_to, "wa_id": key })
        };
        let response = json!({
            "messaging_product": "whatsapp",
            "contacts": [contact],
            "messages": [{ "id": wamid }],
        });
        Ok((response, msg))
    }
}

async fn send_message(
    State(sim): State<GraphSim>,
    Path((version, phone_number_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let cfg = &sim.inner.cfg;
    let to_hint = request
        .get("recipient")
        .or_else(|| request.get("to"))
        .and_then(Value::as_str)
        .map(|t| normalize_user(t, cfg.country_code()))
        .unwrap_or_default();
    if !sim.authorized(&headers) {
        return sim.reject(&to_hint, GraphErr::auth(), request);
    }
    if !valid_version(&version) {
        return sim.reject(&to_hint, bad_version(&version), request);
    }
    if phone_number_id != cfg.phone_number_id {
        let err = GraphErr::invalid(format!(
            "Unsupported post request. Object with ID '{phone_number_id}' does not exist."
        ));
        return sim.reject(&to_hint, err, request);
    }
    if !request.is_object() {
        let err = GraphErr::invalid("The request body must be a JSON object.");
        return sim.reject(&to_hint, err, request);
    }
    if let Some(fault) = sim.fault("messages", &to_hint) {
        // An answered fault is a refused send, as with `fail_next_sends`; a drop answers nothing.
        return match fault.error() {
            Some(err) => sim.reject(&to_hint, err, request),
            None => fault.response(),
        };
    }
    // Mark-as-read (optionally with a typing indicator) shares the endpoint.
    if request.get("status").and_then(Value::as_str) == Some("read") {
        let Some(id) = request.get("message_id").and_then(Value::as_str) else {
            let err = GraphErr::invalid("The parameter message_id is required.");
            return sim.reject(&to_hint, err, request);
        };
        sim.inner.lock().read_marks.push(id.to_string());
        return Json(json!({ "success": true })).into_response();
    }
    let kind = match validate_send(&request) {
        Ok(kind) => kind,
        Err(err) => return sim.reject(&to_hint, err, request),
    };
    match sim.accept_send(kind, &request) {
        Ok((response, msg)) => {
            sim.spawn_statuses(&msg);
            Json(response).into_response()
        }
        Err((to, err)) => sim.reject(&to, err, request),
    }
}

fn media_mismatch(kind: &str, id: &str, mime: &str) -> GraphErr {
    GraphErr::new(
        StatusCode::BAD_REQUEST,
        131053,
        "Media upload error",
        &format!(
            "Media {id} is {} ({mime}); it cannot be sent as {kind}.",
            media_kind(mime)
        ),
    )
}

fn upload_error(details: &str) -> GraphErr {
    GraphErr::new(StatusCode::BAD_REQUEST, 131053, "Media upload error", details)
}

/// Meta's accepted upload types (base MIME) and size caps in bytes (reference §7).
fn upload_limit(mime: &str, data: &[u8]) -> Option<usize> {
    const MB: usize = 1024 * 1024;
    let base = mime.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match base.as_str() {
        "image/jpeg" | "image/png" => Some(5 * MB),
        // A static sticker may be 100 KB, an animated one (a WebP with an ANIM chunk) 500 KB.
        "image/webp" if is_animated_webp(data) => Some(500 * 1024),
        "image/webp" => Some(100 * 1024),
        "video/mp4" | "video/3gpp" => Some(16 * MB),
        "audio/aac" | "audio/amr" | "audio/mpeg" | "audio/mp4" | "audio/ogg" => Some(16 * MB),
        "text/plain"
        | "application/pdf"
        | "application/msword"
        | "application/vnd.ms-excel"
        | "application/vnd.ms-powerpoint" => Some(100 * MB),
        b if b.starts_with("application/vnd.openxmlformats-officedocument.") => Some(100 * MB),
        _ => None,
    }
}

/// A RIFF/WEBP file whose chunks include ANIM (an animated WebP); looked for in the first
/// kilobyte, where the VP8X header and ANIM chunk sit.
fn is_animated_webp(data: &[u8]) -> bool {
    data.len() > 12
        && &data[..4] == b"RIFF"
        && &data[8..12] == b"WEBP"
        && data[..data.len().min(1024)].windows(4).any(|w| w == b"ANIM")
}

async fn upload_media(
    State(sim): State<GraphSim>,
    Path((version, phone_number_id)): Path<(String, String)>,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let authorized = sim.authorized(&headers);
    if !authorized {
        sim.note_media_request("", "upload", false);
        return GraphErr::auth().into_response();
    }
    if let Some(fault) = sim.fault("upload", "") {
        return fault.response();
    }
    if !valid_version(&version) {
        return bad_version(&version).into_response();
    }
    if phone_number_id != sim.inner.cfg.phone_number_id {
        return GraphErr::invalid(format!(
            "Unsupported post request. Object with ID '{phone_number_id}' does not exist."
        ))
        .into_response();
    }
    let mut multipart = match multipart {
        Ok(m) => m,
        Err(e) => return GraphErr::invalid(format!("Expected a multipart form: {e}")).into_response(),
    };
    let (mut product, mut declared, mut file) = (None, None, None);
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return GraphErr::invalid(format!("Bad multipart body: {e}")).into_response(),
        };
        let name = field.name().unwrap_or("").to_string();
        let part_type = field.content_type().map(str::to_string);
        let filename = field.file_name().map(str::to_string);
        let data = match field.bytes().await {
            Ok(d) => d,
            Err(e) => return GraphErr::invalid(format!("Bad multipart body: {e}")).into_response(),
        };
        match name.as_str() {
            "messaging_product" => product = Some(String::from_utf8_lossy(&data).to_string()),
            "type" => declared = Some(String::from_utf8_lossy(&data).trim().to_string()),
            "file" => file = Some((data, part_type, filename)),
            _ => {}
        }
    }
    if product.as_deref() != Some("whatsapp") {
        return GraphErr::invalid("The parameter messaging_product is required and must be 'whatsapp'.")
            .into_response();
    }
    let Some((data, part_type, filename)) = file else {
        return GraphErr::invalid("The parameter file is required.").into_response();
    };
    let Some(mime) = declared.filter(|t| !t.is_empty()).or(part_type) else {
        return GraphErr::invalid("The parameter type is required.").into_response();
    };
    let Some(limit) = upload_limit(&mime, &data) else {
        return upload_error(&format!(
            "Param file must be a file with one of the supported types; got '{mime}'."
        ))
        .into_response();
    };
    if data.len() > limit {
        return upload_error(&format!(
            "File of {} bytes exceeds the {limit}-byte limit for {mime}.",
            data.len()
        ))
        .into_response();
    }
    let id = sim.inner.lock().store_media(MediaItem {
        bytes: data.to_vec(),
        mime_type: mime,
        filename,
    });
    sim.note_media_request(&id, "upload", true);
    Json(json!({ "id": id })).into_response()
}

pub(crate) fn base_url(sim: &GraphSim, headers: &HeaderMap) -> String {
    // Build from the Host the caller used so the URL works from where the caller sits.
    if let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
        return format!("http://{host}");
    }
    sim.inner
        .lock()
        .base_url
        .clone()
        .unwrap_or_else(|| "http://127.0.0.1".to_string())
}

async fn lookup_media(
    State(sim): State<GraphSim>,
    Path((version, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let authorized = sim.authorized(&headers);
    if !authorized {
        sim.note_media_request(&id, "lookup", false);
        return GraphErr::auth().into_response();
    }
    if let Some(fault) = sim.fault("lookup", &id) {
        return fault.response();
    }
    sim.note_media_request(&id, "lookup", true);
    if !valid_version(&version) {
        return bad_version(&version).into_response();
    }
    let base = base_url(&sim, &headers);
    let st = sim.inner.lock();
    let Some(item) = st.media.get(&id) else {
        let cfg = &sim.inner.cfg;
        if id == cfg.phone_number_id {
            return Json(json!({
                "verified_name": "Shikayat (simulated)",
                "display_phone_number": cfg.display_phone_number,
                "id": cfg.phone_number_id,
            }))
            .into_response();
        }
        if let Some(t) = st.templates.items.iter().find(|t| t.id == id) {
            return Json(t.to_json()).into_response();
        }
        return GraphErr::not_found(&id).into_response();
    };
    Json(json!({
        "messaging_product": "whatsapp",
        "url": format!("{base}/graph/media-download/{id}?ext={}", ext_for(&item.mime_type)),
        "mime_type": item.mime_type,
        "sha256": hex::encode(Sha256::digest(&item.bytes)),
        "file_size": item.bytes.len(),
        "id": id,
    }))
    .into_response()
}

async fn delete_media(
    State(sim): State<GraphSim>,
    Path((_version, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !sim.authorized(&headers) {
        return GraphErr::auth().into_response();
    }
    match sim.inner.lock().media.remove(&id) {
        Some(_) => Json(json!({ "success": true })).into_response(),
        None => GraphErr::not_found(&id).into_response(),
    }
}

async fn download_media(State(sim): State<GraphSim>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let authorized = sim.authorized(&headers);
    if !authorized {
        sim.note_media_request(&id, "download", false);
        return GraphErr::auth().into_response();
    }
    if let Some(fault) = sim.fault("download", &id) {
        return fault.response();
    }
    sim.note_media_request(&id, "download", true);
    media_bytes(&sim, &id)
}

/// The stored bytes with their Content-Type (shared with the sandbox's unauthenticated route).
pub(crate) fn media_bytes(sim: &GraphSim, id: &str) -> Response {
    let st = sim.inner.lock();
    match st.media.get(id) {
        Some(item) => (
            [(header::CONTENT_TYPE, item.mime_type.clone())],
            item.bytes.clone(),
        )
            .into_response(),
        None => GraphErr::not_found(id).into_response(),
    }
}

pub(crate) async fn fallback() -> Response {
    GraphErr::new(
        StatusCode::NOT_FOUND,
        100,
        "Unsupported request - method type or path not supported by the Graph simulator",
        "Unknown path",
    )
    .into_response()
}
