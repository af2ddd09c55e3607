//! The WhatsApp Cloud API client (Graph API over HTTPS): sending, media upload and download,
//! read receipts. The pure parts (request bodies, error classification, sha256 checks) are plain
//! functions so they are tested without a network. Phone numbers and the token never reach logs.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::multipart::{Form, Part};
use reqwest::{header, Client, RequestBuilder, Response, StatusCode};
use serde_json::{json, Map, Value};
use shikayat_core::complaint::MediaKind;
use shikayat_core::ids::Phone;
use shikayat_core::outbound::{MediaSource, OutboundMessage};
use shikayat_core::ports::{Download, SendError, WhatsApp};

/// Meta caps inbound media at 100 MB; a little slack on top, then we refuse.
pub const MAX_DOWNLOAD_BYTES: u64 = 101 * 1024 * 1024;
/// Uploads and downloads may take longer than an API call (stalls are still caught by the
/// per-read timeout).
const MIN_TRANSFER_TIMEOUT: Duration = Duration::from_secs(300);
/// Codes that pass (reference §10, §11): API unknown/service (1, 2), app and management rate
/// limits (4, 80007), throughput (130429), unknown error (131000), service unavailable
/// (131016), pair rate (131056), business account locked for maintenance (131057).
const TRANSIENT_CODES: [i64; 9] = [1, 2, 4, 80007, 130429, 131000, 131016, 131056, 131057];
/// Codes that fail again however often the same request is sent: invalid parameter (100),
/// recipient cannot receive (131026), unsupported message type (131051), media upload or
/// download error such as an unsupported type (131053). Template errors are 132000–132999.
const PERMANENT_CODES: [i64; 4] = [100, 131026, 131051, 131053];
const TEMPLATE_CODES: std::ops::RangeInclusive<i64> = 132_000..=132_999;
/// Outside the 24-hour window: permanent as sent; the caller switches to a template.
const RE_ENGAGEMENT_CODE: i64 = 131047;

#[derive(Clone)]
pub struct CloudApiConfig {
    /// `https://graph.facebook.com`, or `http://127.0.0.1:PORT/graph` for the simulator.
    pub base_url: String,
    /// `v25.0`.
    pub version: String,
    pub phone_number_id: String,
    pub access_token: String,
    /// Per API call (and the connect/read timeout of media transfers).
    pub timeout: Duration,
}

impl fmt::Debug for CloudApiConfig {
    /// Like a derived Debug, but the token is redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudApiConfig")
            .field("base_url", &self.base_url)
            .field("version", &self.version)
            .field("phone_number_id", &self.phone_number_id)
            .field("access_token", &"<redacted>")
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The Cloud API client; build it once per process and share it.
pub struct CloudApi {
    http: Client,
    cfg: CloudApiConfig,
}

impl CloudApi {
    pub fn new(mut cfg: CloudApiConfig) -> Result<Self, String> {
        cfg.base_url = cfg.base_url.trim_end_matches('/').to_string();
        if cfg.base_url.is_empty() || cfg.version.is_empty() || cfg.phone_number_id.is_empty() {
            return Err("base_url, version and phone_number_id are required".into());
        }
        if cfg.access_token.is_empty() {
            return Err("access_token is required".into());
        }
        let http = Client::builder()
            .connect_timeout(cfg.timeout)
            .read_timeout(cfg.timeout)
            .user_agent(concat!("shikayat/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("building the HTTP client: {e}"))?;
        Ok(Self { http, cfg })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{}/{path}", self.cfg.base_url, self.cfg.version)
    }

    fn messages_url(&self) -> String {
        self.url(&format!("{}/messages", self.cfg.phone_number_id))
    }

    fn transfer_timeout(&self) -> Duration {
        self.cfg.timeout.max(MIN_TRANSFER_TIMEOUT)
    }

    async fn call(&self, req: RequestBuilder, timeout: Duration) -> Result<Response, SendError> {
        req.bearer_auth(&self.cfg.access_token)
            .timeout(timeout)
            .send()
            .await
            .map_err(net_error)
    }

    /// Sends a Graph call and returns its JSON body, or the classified error.
    async fn api_json(&self, req: RequestBuilder, timeout: Duration) -> Result<Value, SendError> {
        let resp = self.call(req, timeout).await?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(net_error)?;
        if !status.is_success() {
            return Err(error_from(status, &body));
        }
        serde_json::from_slice(&body).map_err(|_| SendError::Permanent {
            code: None,
            detail: format!(
                "unexpected Graph response (HTTP {}): {}",
                status.as_u16(),
                snippet(&body)
            ),
        })
    }

    async fn lookup(&self, media_id: &str) -> Result<MediaInfo, SendError> {
        let v = self
            .api_json(self.http.get(self.url(media_id)), self.cfg.timeout)
            .await?;
        let url = v.get("url").and_then(Value::as_str).filter(|u| !u.is_empty());
        let Some(url) = url else {
            return Err(permanent(format!("media lookup for {media_id} returned no url")));
        };
        let file_size = v
            .get("file_size")
            .and_then(|f| f.as_u64().or_else(|| f.as_str()?.trim().parse().ok()));
        if file_size.is_some_and(|n| n > MAX_DOWNLOAD_BYTES) {
            return Err(too_large());
        }
        Ok(MediaInfo {
            url: url.to_string(),
            mime_type: v
                .get("mime_type")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            sha256: v.get("sha256").and_then(Value::as_str).map(str::to_string),
        })
    }

    /// Downloads the bytes behind a looked-up URL; `None` when the URL has expired (404).
    async fn fetch(&self, info: &MediaInfo) -> Result<Option<Download>, SendError> {
        let mut resp = self
            .call(self.http.get(&info.url), self.transfer_timeout())
            .await?;
        let status = resp.status();
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            let body = resp.bytes().await.unwrap_or_default();
            return Err(error_from(status, &body));
        }
        let declared = resp.content_length();
        if declared.is_some_and(|n| n > MAX_DOWNLOAD_BYTES) {
            return Err(too_large());
        }
        let header_mime = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        let mut bytes = Vec::with_capacity(declared.unwrap_or(0).min(16 * 1024 * 1024) as usize);
        while let Some(chunk) = resp.chunk().await.map_err(net_error)? {
            if (bytes.len() + chunk.len()) as u64 > MAX_DOWNLOAD_BYTES {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        let mime_type = match header_mime {
            Some(h) if h != "application/octet-stream" || info.mime_type.is_empty() => h,
            _ if !info.mime_type.is_empty() => info.mime_type.clone(),
            _ => "application/octet-stream".to_string(),
        };
        Ok(Some(Download {
            bytes,
            mime_type,
            sha256: info.sha256.clone(),
        }))
    }
}

struct MediaInfo {
    url: String,
    mime_type: String,
    sha256: Option<String>,
}

#[async_trait]
impl WhatsApp for CloudApi {
    async fn send(
        &self,
        to: &Phone,
        msg: &OutboundMessage,
        reply_to: Option<&str>,
    ) -> Result<String, SendError> {
        let body = message_body(to, msg, reply_to)?;
        let result = self
            .api_json(self.http.post(self.messages_url()).json(&body), self.cfg.timeout)
            .await;
        let result = result.and_then(|v| {
            v.pointer("/messages/0/id")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| permanent("the send response carried no message id".into()))
        });
        // Neither the recipient nor the wamid (which holds the recipient's number): the command's
        // span says what was being sent, and the desk logs the recipient's keyed-hash id.
        match &result {
            Ok(_) => tracing::debug!(kind = msg.kind(), "whatsapp message accepted"),
            Err(e) => tracing::warn!(
                kind = msg.kind(),
                code = ?e.code(),
                retryable = matches!(e, SendError::Retryable { .. }),
                "whatsapp send failed"
            ),
        }
        result
    }

    async fn download_media(&self, media_id: &str) -> Result<Download, SendError> {
        check_media_id(media_id)?;
        let info = self.lookup(media_id).await?;
        if let Some(d) = self.fetch(&info).await? {
            return Ok(d);
        }
        // The URL expired (valid for 5 minutes): look the id up again once.
        tracing::debug!(media_id, "media URL expired; looking the id up again");
        let info = self.lookup(media_id).await?;
        self.fetch(&info)
            .await?
            .ok_or_else(|| permanent(format!("media {media_id}: download URL not found twice")))
    }

    async fn upload_media(
        &self,
        bytes: Vec<u8>,
        mime_type: &str,
        filename: &str,
    ) -> Result<String, SendError> {
        let part = Part::bytes(bytes)
            .file_name(filename.to_string())
            .mime_str(mime_type)
            .map_err(|e| permanent(format!("invalid MIME type {mime_type:?}: {e}")))?;
        let form = Form::new()
            .text("messaging_product", "whatsapp")
            .text("type", mime_type.to_string())
            .part("file", part);
        let url = self.url(&format!("{}/media", self.cfg.phone_number_id));
        let v = self
            .api_json(self.http.post(url).multipart(form), self.transfer_timeout())
            .await?;
        v.get("id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| permanent("the upload response carried no media id".into()))
    }

    async fn mark_read(&self, wamid: &str) -> Result<(), SendError> {
        let body = json!({ "messaging_product": "whatsapp", "status": "read", "message_id": wamid });
        self.api_json(self.http.post(self.messages_url()).json(&body), self.cfg.timeout)
            .await
            .map(|_| ())
    }
}

/// The `/messages` request body for one message (reference §8).
pub fn message_body(to: &Phone, msg: &OutboundMessage, reply_to: Option<&str>) -> Result<Value, SendError> {
    let mut body = Map::new();
    body.insert("messaging_product".into(), json!("whatsapp"));
    body.insert("recipient_type".into(), json!("individual"));
    if to.is_bsuid() {
        body.insert("recipient".into(), json!(to.as_str()));
    } else {
        // Always E.164 with '+': without it Meta prepends the business's country code.
        body.insert("to".into(), json!(format!("+{}", to.as_str())));
    }
    if let Some(id) = reply_to {
        body.insert("context".into(), json!({ "message_id": id }));
    }
    let (kind, payload) = match msg {
        OutboundMessage::Text { body } => ("text", json!({ "preview_url": false, "body": body })),
        OutboundMessage::Media {
            kind,
            media,
            caption,
            filename,
            ..
        } => {
            let MediaSource::Uploaded { id } = media else {
                return Err(permanent("media must be uploaded first".into()));
            };
            let mut m = Map::new();
            m.insert("id".into(), json!(id));
            if let Some(c) = caption.as_deref().filter(|c| !c.is_empty()) {
                if !matches!(kind, MediaKind::Audio | MediaKind::Sticker) {
                    m.insert("caption".into(), json!(c));
                }
            }
            if let Some(f) = filename.as_deref().filter(|f| !f.is_empty()) {
                if *kind == MediaKind::Document {
                    m.insert("filename".into(), json!(f));
                }
            }
            (kind.as_str(), Value::Object(m))
        }
        OutboundMessage::Buttons {
            body,
            buttons,
            header,
        } => {
            let buttons: Vec<Value> = buttons
                .iter()
                .map(|b| json!({ "type": "reply", "reply": { "id": b.id, "title": b.title } }))
                .collect();
            let mut i =
                json!({ "type": "button", "body": { "text": body }, "action": { "buttons": buttons } });
            if let Some(h) = header {
                let MediaSource::Uploaded { id } = &h.media else {
                    return Err(permanent(
                        "a buttons header's media must be uploaded first".into(),
                    ));
                };
                let kind = h.kind.as_str();
                i["header"] = json!({ "type": kind, kind: header_media(id, h) });
            }
            ("interactive", i)
        }
        OutboundMessage::List { body, button, rows } => {
            let rows: Vec<Value> = rows
                .iter()
                .map(|r| {
                    let mut row = json!({ "id": r.id, "title": r.title });
                    if let Some(d) = &r.description {
                        row["description"] = json!(d);
                    }
                    row
                })
                .collect();
            // One section; its title (≤24) reuses the button label (≤20).
            let title: String = button.chars().take(24).collect();
            let action = json!({ "button": button, "sections": [{ "title": title, "rows": rows }] });
            (
                "interactive",
                json!({ "type": "list", "body": { "text": body }, "action": action }),
            )
        }
        OutboundMessage::Template {
            name,
            language,
            params,
            quick_replies,
            header,
        } => {
            let mut components = Vec::new();
            if let Some(h) = header {
                let MediaSource::Uploaded { id } = &h.media else {
                    return Err(permanent("template header media must be uploaded first".into()));
                };
                let kind = h.kind.as_str();
                components.push(json!({
                    "type": "header",
                    "parameters": [{ "type": kind, kind: header_media(id, h) }],
                }));
            }
            if !params.is_empty() {
                let p: Vec<Value> = params
                    .iter()
                    .map(|p| json!({ "type": "text", "text": p }))
                    .collect();
                components.push(json!({ "type": "body", "parameters": p }));
            }
            for (i, payload) in quick_replies.iter().enumerate() {
                components.push(json!({
                    "type": "button", "sub_type": "quick_reply", "index": i.to_string(),
                    "parameters": [{ "type": "payload", "payload": payload }],
                }));
            }
            let t = json!({ "name": name, "language": { "code": language }, "components": components });
            ("template", t)
        }
    };
    body.insert("type".into(), json!(kind));
    body.insert(kind.into(), payload);
    Ok(Value::Object(body))
}

/// Retry or give up, for every Graph call (sends, media uploads, downloads, read receipts).
/// A code Meta documents decides, whatever the HTTP status: transient codes retry, permanent
/// ones and 131047 (`Permanent` with its code; the caller switches to a template) do not.
/// Without a known code the status decides: 429 and 5xx retry, anything else (190, 0, 10,
/// 200–299, 368, 131031 … on a 4xx) does not. Timeouts and connection failures never get
/// here: `net_error` makes them retryable.
pub fn classify(http_status: u16, code: Option<i64>, detail: String) -> SendError {
    let retry = match code {
        Some(c) if c == RE_ENGAGEMENT_CODE || PERMANENT_CODES.contains(&c) || TEMPLATE_CODES.contains(&c) => {
            false
        }
        Some(c) if TRANSIENT_CODES.contains(&c) => true,
        _ => http_status == 429 || (500..=599).contains(&http_status),
    };
    if retry {
        SendError::Retryable { code, detail }
    } else {
        SendError::Permanent { code, detail }
    }
}

/// A Graph error response → `SendError`, keyed on `error.code` and `error.error_data.details`.
fn error_from(status: StatusCode, body: &[u8]) -> SendError {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let err = v.get("error");
    let code = err.and_then(|e| e.get("code")).and_then(Value::as_i64);
    let message = err.and_then(|e| e.get("message")).and_then(Value::as_str);
    let details = err
        .and_then(|e| e.pointer("/error_data/details"))
        .and_then(Value::as_str);
    let detail = match (message, details) {
        (Some(m), Some(d)) => format!("{m}: {d}"),
        (Some(x), None) | (None, Some(x)) => x.to_string(),
        (None, None) => format!("HTTP {}: {}", status.as_u16(), snippet(body)),
    };
    classify(status.as_u16(), code, detail)
}

/// Network failures and timeouts are retryable; a request we could not even build is not.
fn net_error(e: reqwest::Error) -> SendError {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let builder = e.is_builder();
    let mut causes = String::new();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        causes.push_str(&format!(": {s}"));
        source = s.source();
    }
    // Without the URL: media URLs carry signed query strings.
    let detail = format!("{what}: {}{causes}", e.without_url());
    if builder {
        permanent(detail)
    } else {
        SendError::Retryable { code: None, detail }
    }
}

fn check_media_id(id: &str) -> Result<(), SendError> {
    let ok = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(permanent(format!("not a media id: {:?}", snippet(id.as_bytes()))))
    }
}

/// A header's media by its uploaded id; a document keeps its file name.
fn header_media(id: &str, h: &shikayat_core::outbound::TemplateMedia) -> Value {
    let mut media = json!({ "id": id });
    if let Some(f) = h.filename.as_deref().filter(|f| !f.is_empty()) {
        if h.kind == MediaKind::Document {
            media["filename"] = json!(f);
        }
    }
    media
}

fn permanent(detail: String) -> SendError {
    SendError::Permanent { code: None, detail }
}

fn too_large() -> SendError {
    permanent(format!("media larger than {MAX_DOWNLOAD_BYTES} bytes"))
}

fn snippet(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use sha2::{Digest, Sha256};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use axum::extract::{Multipart, Path, State};
    use axum::http::{HeaderMap, StatusCode as Status};
    use axum::response::{IntoResponse, Response as AxumResponse};
    use axum::routing::{get, post};
    use axum::{Json, Router};
    use shikayat_core::outbound::{Button, ListRow};

    use super::*;

    const TOKEN: &str = "test-token";
    const JPEG: &[u8] = b"\xff\xd8\xff\xe0 not really a jpeg";

    fn citizen() -> Phone {
        Phone::new("919812345678")
    }

    fn base(extra: Value) -> Value {
        let mut b =
            json!({ "messaging_product": "whatsapp", "recipient_type": "individual", "to": "+919812345678" });
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            b[k] = v;
        }
        b
    }

    fn media(kind: MediaKind, source: MediaSource) -> OutboundMessage {
        OutboundMessage::Media {
            kind,
            media: source,
            mime_type: "x/y".into(),
            caption: Some("cap".into()),
            filename: Some("report.pdf".into()),
        }
    }

    fn uploaded(kind: MediaKind) -> OutboundMessage {
        media(kind, MediaSource::Uploaded { id: "M1".into() })
    }

    #[test]
    fn text_body_with_reply_context() {
        let msg = OutboundMessage::Text {
            body: "नमस्ते".into()
        };
        let got = message_body(&citizen(), &msg, Some("wamid.IN")).unwrap();
        let want = base(json!({ "context": { "message_id": "wamid.IN" }, "type": "text",
            "text": { "preview_url": false, "body": "नमस्ते" } }));
        assert_eq!(got, want);
        let got = message_body(&citizen(), &msg, None).unwrap();
        assert!(got.get("context").is_none());
    }

    #[test]
    fn bsuid_goes_in_recipient() {
        let msg = OutboundMessage::Text { body: "hi".into() };
        let got = message_body(&Phone::new("IN.81907658751096802643"), &msg, None).unwrap();
        assert_eq!(got["recipient"], "IN.81907658751096802643");
        assert!(got.get("to").is_none());
    }

    #[test]
    fn media_bodies() {
        let cases = [
            (MediaKind::Image, json!({ "id": "M1", "caption": "cap" })),
            (MediaKind::Video, json!({ "id": "M1", "caption": "cap" })),
            (
                MediaKind::Document,
                json!({ "id": "M1", "caption": "cap", "filename": "report.pdf" }),
            ),
            (MediaKind::Audio, json!({ "id": "M1" })),
            (MediaKind::Sticker, json!({ "id": "M1" })),
        ];
        for (kind, payload) in cases {
            let got = message_body(&citizen(), &uploaded(kind), None).unwrap();
            let mut want = base(json!({ "type": kind.as_str() }));
            want[kind.as_str()] = payload;
            assert_eq!(got, want, "{kind:?}");
        }
        let stored = media(MediaKind::Image, MediaSource::Stored { key: "k".into() });
        let err = message_body(&citizen(), &stored, None).unwrap_err();
        assert_eq!(
            err,
            SendError::Permanent {
                code: None,
                detail: "media must be uploaded first".into()
            }
        );
    }

    #[test]
    fn buttons_under_a_media_header() {
        let msg = OutboundMessage::Buttons {
            header: Some(shikayat_core::outbound::TemplateMedia {
                kind: MediaKind::Image,
                media: MediaSource::Uploaded { id: "77".into() },
                mime_type: "image/jpeg".into(),
                filename: None,
            }),
            body: "Report".into(),
            buttons: vec![Button {
                id: "FEEDBACK:SATISFIED:X".into(),
                title: "Yes".into(),
            }],
        };
        let body = message_body(&citizen(), &msg, None).expect("body");
        assert_eq!(
            body["interactive"]["header"],
            json!({ "type": "image", "image": { "id": "77" } })
        );
        let stored = OutboundMessage::Buttons {
            header: Some(shikayat_core::outbound::TemplateMedia {
                kind: MediaKind::Image,
                media: MediaSource::Stored { key: "k".into() },
                mime_type: "image/jpeg".into(),
                filename: None,
            }),
            body: "Report".into(),
            buttons: Vec::new(),
        };
        assert!(message_body(&citizen(), &stored, None).is_err(), "upload first");
    }

    #[test]
    fn buttons_body() {
        let msg = OutboundMessage::Buttons {
            header: None,
            body: "Satisfied?".into(),
            buttons: vec![
                Button {
                    id: "FEEDBACK:SATISFIED:X".into(),
                    title: "Yes".into(),
                },
                Button {
                    id: "FEEDBACK:DISSATISFIED:X".into(),
                    title: "No".into(),
                },
            ],
        };
        let want = base(json!({ "type": "interactive", "interactive": { "type": "button",
            "body": { "text": "Satisfied?" },
            "action": { "buttons": [
                { "type": "reply", "reply": { "id": "FEEDBACK:SATISFIED:X", "title": "Yes" } },
                { "type": "reply", "reply": { "id": "FEEDBACK:DISSATISFIED:X", "title": "No" } } ] } } }));
        assert_eq!(message_body(&citizen(), &msg, None).unwrap(), want);
    }

    #[test]
    fn list_body() {
        let msg = OutboundMessage::List {
            body: "Pick a department".into(),
            button: "Departments".into(),
            rows: vec![
                ListRow {
                    id: "D:PWD".into(),
                    title: "PWD".into(),
                    description: Some("Roads".into()),
                },
                ListRow {
                    id: "D:JAL".into(),
                    title: "Jal Nigam".into(),
                    description: None,
                },
            ],
        };
        let want = base(json!({ "type": "interactive", "interactive": { "type": "list",
            "body": { "text": "Pick a department" },
            "action": { "button": "Departments", "sections": [{ "title": "Departments", "rows": [
                { "id": "D:PWD", "title": "PWD", "description": "Roads" },
                { "id": "D:JAL", "title": "Jal Nigam" } ] }] } } }));
        assert_eq!(message_body(&citizen(), &msg, None).unwrap(), want);
    }

    #[test]
    fn template_bodies() {
        let msg = OutboundMessage::Template {
            name: "grievance_report_hi".into(),
            language: "hi".into(),
            params: vec!["GRV-2026-000087".into(), "done".into()],
            quick_replies: vec!["FEEDBACK:SATISFIED:G".into(), "FEEDBACK:DISSATISFIED:G".into()],
            header: None,
        };
        let want = base(
            json!({ "type": "template", "template": { "name": "grievance_report_hi",
            "language": { "code": "hi" }, "components": [
            { "type": "body", "parameters": [{ "type": "text", "text": "GRV-2026-000087" }, { "type": "text", "text": "done" }] },
            { "type": "button", "sub_type": "quick_reply", "index": "0", "parameters": [{ "type": "payload", "payload": "FEEDBACK:SATISFIED:G" }] },
            { "type": "button", "sub_type": "quick_reply", "index": "1", "parameters": [{ "type": "payload", "payload": "FEEDBACK:DISSATISFIED:G" }] } ] } }),
        );
        assert_eq!(message_body(&citizen(), &msg, None).unwrap(), want);
        let bare = OutboundMessage::Template {
            name: "t".into(),
            language: "en".into(),
            params: vec![],
            quick_replies: vec![],
            header: None,
        };
        let want = base(
            json!({ "type": "template", "template": { "name": "t", "language": { "code": "en" }, "components": [] } }),
        );
        assert_eq!(message_body(&citizen(), &bare, None).unwrap(), want);
        // A media header goes first, by uploaded id; a stored one must be uploaded before.
        let header = |media| shikayat_core::outbound::TemplateMedia {
            kind: MediaKind::Image,
            media,
            mime_type: "image/jpeg".into(),
            filename: None,
        };
        let with_photo = OutboundMessage::Template {
            name: "r".into(),
            language: "hi".into(),
            params: vec!["x".into()],
            quick_replies: vec![],
            header: Some(header(MediaSource::Uploaded { id: "77".into() })),
        };
        let want = base(
            json!({ "type": "template", "template": { "name": "r", "language": { "code": "hi" }, "components": [
            { "type": "header", "parameters": [{ "type": "image", "image": { "id": "77" } }] },
            { "type": "body", "parameters": [{ "type": "text", "text": "x" }] } ] } }),
        );
        assert_eq!(message_body(&citizen(), &with_photo, None).unwrap(), want);
        let stored = OutboundMessage::Template {
            name: "r".into(),
            language: "hi".into(),
            params: vec!["x".into()],
            quick_replies: vec![],
            header: Some(header(MediaSource::Stored { key: "k".into() })),
        };
        assert!(message_body(&citizen(), &stored, None).is_err());
    }

    #[test]
    fn classification() {
        let retry = |s, c| matches!(classify(s, c, String::new()), SendError::Retryable { .. });
        // Transient codes retry on any status.
        for code in [1, 2, 4, 80007, 130429, 131000, 131016, 131056, 131057] {
            for status in [400, 429, 500, 503] {
                assert!(retry(status, Some(code)), "{code} on {status}");
            }
        }
        // Permanent codes, template errors and 131047 never retry, even on a 5xx.
        for code in [
            100, 131026, 131051, 131053, 131047, 132000, 132001, 132012, 132018, 132999,
        ] {
            for status in [400, 404, 500, 503] {
                assert!(!retry(status, Some(code)), "{code} on {status}");
            }
        }
        // Without a known code the status decides.
        assert!(retry(429, None) && retry(500, None) && retry(502, None) && retry(503, Some(12345)));
        for code in [131008, 131009, 133000, 190, 0, 10, 200, 299, 368, 131031] {
            assert!(!retry(400, Some(code)), "{code}");
        }
        assert!(!retry(401, None) && !retry(404, None) && !retry(413, None));
        assert_eq!(
            classify(400, Some(131047), "d".into()),
            SendError::Permanent {
                code: Some(131047),
                detail: "d".into()
            }
        );
        let e = error_from(
            StatusCode::BAD_REQUEST,
            br#"{"error":{"message":"(#130429) Rate limit hit","code":130429,"error_data":{"details":"throughput"}}}"#,
        );
        assert_eq!(
            e,
            SendError::Retryable {
                code: Some(130429),
                detail: "(#130429) Rate limit hit: throughput".into()
            }
        );
    }

    // ---- HTTP round trips against a tiny fake Graph API ----

    #[derive(Default)]
    struct Fake {
        addr: String,
        auth: Mutex<Vec<String>>,
        bodies: Mutex<Vec<Value>>,
        lookups: AtomicUsize,
        uploads: Mutex<Vec<(String, String, String, usize)>>,
    }

    type Shared = Arc<Fake>;

    fn note_auth(f: &Fake, h: &HeaderMap) {
        let a = h
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        f.auth.lock().unwrap().push(a);
    }

    fn graph_error(status: Status, code: i64, details: &str) -> AxumResponse {
        let body = json!({ "error": { "message": "err", "type": "OAuthException", "code": code,
            "error_data": { "messaging_product": "whatsapp", "details": details }, "fbtrace_id": "x" } });
        (status, Json(body)).into_response()
    }

    async fn messages(State(f): State<Shared>, h: HeaderMap, Json(body): Json<Value>) -> AxumResponse {
        note_auth(&f, &h);
        f.bodies.lock().unwrap().push(body.clone());
        if body["status"] == "read" {
            return Json(json!({ "success": true })).into_response();
        }
        match body["to"].as_str() {
            Some("+910000000400") => graph_error(Status::BAD_REQUEST, 131047, "Re-engagement message"),
            Some("+910000000500") => (Status::INTERNAL_SERVER_ERROR, "boom").into_response(),
            _ => Json(json!({ "messaging_product": "whatsapp", "messages": [{ "id": "wamid.OK" }] }))
                .into_response(),
        }
    }

    async fn lookup(
        State(f): State<Shared>,
        Path((_v, id)): Path<(String, String)>,
        h: HeaderMap,
    ) -> AxumResponse {
        note_auth(&f, &h);
        if id == "404" {
            return graph_error(Status::NOT_FOUND, 100, "Unknown object");
        }
        let n = f.lookups.fetch_add(1, Ordering::SeqCst) + 1;
        let sha = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(JPEG));
        Json(
            json!({ "messaging_product": "whatsapp", "url": format!("http://{}/dl/{n}", f.addr),
            "mime_type": "image/jpeg", "sha256": sha, "file_size": JPEG.len().to_string(), "id": id }),
        )
        .into_response()
    }

    async fn download(State(f): State<Shared>, Path(n): Path<usize>, h: HeaderMap) -> AxumResponse {
        note_auth(&f, &h);
        if h.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Bearer {TOKEN}")) {
            return graph_error(Status::UNAUTHORIZED, 190, "no token");
        }
        match n {
            1 => (Status::NOT_FOUND, "expired").into_response(),
            _ => ([("content-type", "image/jpeg")], JPEG.to_vec()).into_response(),
        }
    }

    async fn upload(State(f): State<Shared>, h: HeaderMap, mut form: Multipart) -> AxumResponse {
        note_auth(&f, &h);
        let (mut product, mut declared, mut file) = (String::new(), String::new(), None);
        while let Ok(Some(field)) = form.next_field().await {
            let name = field.name().unwrap_or("").to_string();
            let meta = (
                field.file_name().unwrap_or("").to_string(),
                field.content_type().unwrap_or("").to_string(),
            );
            let data = field.bytes().await.unwrap_or_default();
            match name.as_str() {
                "messaging_product" => product = String::from_utf8_lossy(&data).to_string(),
                "type" => declared = String::from_utf8_lossy(&data).to_string(),
                "file" => file = Some((meta, data.len())),
                _ => {}
            }
        }
        let Some(((filename, part_type), len)) = file else {
            return graph_error(Status::BAD_REQUEST, 100, "file required");
        };
        match filename.as_str() {
            "unsupported.xyz" => return graph_error(Status::BAD_REQUEST, 131053, "Unsupported media type"),
            "unsupported-5xx.xyz" => {
                return graph_error(Status::INTERNAL_SERVER_ERROR, 131053, "Media upload error")
            }
            "busy.jpg" => return graph_error(Status::BAD_REQUEST, 131000, "Something went wrong"),
            "overload.jpg" => return (Status::SERVICE_UNAVAILABLE, "overloaded").into_response(),
            _ => {}
        }
        f.uploads
            .lock()
            .unwrap()
            .push((product, declared, format!("{filename}|{part_type}"), len));
        Json(json!({ "id": "1234567890" })).into_response()
    }

    async fn fake_graph() -> (CloudApi, Shared) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let fake = Arc::new(Fake {
            addr: addr.clone(),
            ..Fake::default()
        });
        let app = Router::new()
            .route("/graph/{v}/{id}/messages", post(messages))
            .route("/graph/{v}/{id}/media", post(upload))
            .route("/graph/{v}/{id}", get(lookup))
            .route("/dl/{n}", get(download))
            .with_state(fake.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (client(&format!("http://{addr}/graph/")), fake)
    }

    fn client(base_url: &str) -> CloudApi {
        CloudApi::new(CloudApiConfig {
            base_url: base_url.into(),
            version: "v25.0".into(),
            phone_number_id: "PNID".into(),
            access_token: TOKEN.into(),
            timeout: Duration::from_secs(5),
        })
        .unwrap()
    }

    #[tokio::test]
    async fn send_round_trip_and_errors() {
        let (api, fake) = fake_graph().await;
        let msg = OutboundMessage::Text { body: "hi".into() };
        let wamid = api.send(&citizen(), &msg, Some("wamid.IN")).await.unwrap();
        assert_eq!(wamid, "wamid.OK");
        assert_eq!(fake.auth.lock().unwrap()[0], format!("Bearer {TOKEN}"));
        assert_eq!(
            fake.bodies.lock().unwrap()[0],
            message_body(&citizen(), &msg, Some("wamid.IN")).unwrap()
        );

        let err = api
            .send(&Phone::new("910000000400"), &msg, None)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                SendError::Permanent {
                    code: Some(131047),
                    ..
                }
            ),
            "{err:?}"
        );
        let err = api
            .send(&Phone::new("910000000500"), &msg, None)
            .await
            .unwrap_err();
        assert!(matches!(err, SendError::Retryable { code: None, .. }), "{err:?}");

        api.mark_read("wamid.IN").await.unwrap();
        let last = fake.bodies.lock().unwrap().last().cloned().unwrap();
        assert_eq!(
            last,
            json!({ "messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN" })
        );
    }

    #[tokio::test]
    async fn media_download_retries_an_expired_url() {
        let (api, fake) = fake_graph().await;
        let d = api.download_media("777").await.unwrap();
        assert_eq!(d.bytes, JPEG);
        assert_eq!(d.mime_type, "image/jpeg");
        assert!(shikayat_core::media::sha256_matches(
            &d.bytes,
            d.sha256.as_deref().unwrap()
        ));
        assert_eq!(
            fake.lookups.load(Ordering::SeqCst),
            2,
            "the expired URL is looked up again"
        );
        // lookup, download (404), lookup, download: all with the bearer token.
        let auth = fake.auth.lock().unwrap().clone();
        assert_eq!(auth.len(), 4);
        assert!(auth.iter().all(|a| *a == format!("Bearer {TOKEN}")));

        let err = api.download_media("404").await.unwrap_err();
        assert!(
            matches!(err, SendError::Permanent { code: Some(100), .. }),
            "{err:?}"
        );
        let err = api.download_media("../x").await.unwrap_err();
        assert!(matches!(err, SendError::Permanent { .. }));
    }

    #[tokio::test]
    async fn upload_is_multipart() {
        let (api, fake) = fake_graph().await;
        let id = api
            .upload_media(b"%PDF-1.4".to_vec(), "application/pdf", "r.pdf")
            .await
            .unwrap();
        assert_eq!(id, "1234567890");
        let seen = fake.uploads.lock().unwrap().clone();
        assert_eq!(
            seen,
            vec![(
                "whatsapp".into(),
                "application/pdf".into(),
                "r.pdf|application/pdf".into(),
                8
            )]
        );
    }

    #[tokio::test]
    async fn refused_uploads_are_permanent_and_outages_retryable() {
        let (api, _fake) = fake_graph().await;
        for name in ["unsupported.xyz", "unsupported-5xx.xyz"] {
            let err = api
                .upload_media(b"??".to_vec(), "application/octet-stream", name)
                .await
                .unwrap_err();
            assert!(
                matches!(
                    err,
                    SendError::Permanent {
                        code: Some(131053),
                        ..
                    }
                ),
                "{name}: {err:?}"
            );
        }
        let err = api
            .upload_media(JPEG.to_vec(), "image/jpeg", "busy.jpg")
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                SendError::Retryable {
                    code: Some(131000),
                    ..
                }
            ),
            "{err:?}"
        );
        let err = api
            .upload_media(JPEG.to_vec(), "image/jpeg", "overload.jpg")
            .await
            .unwrap_err();
        assert!(matches!(err, SendError::Retryable { code: None, .. }), "{err:?}");
        // A MIME type the request cannot even carry is refused before any call.
        let err = api
            .upload_media(JPEG.to_vec(), "not a mime type", "x.jpg")
            .await
            .unwrap_err();
        assert!(matches!(err, SendError::Permanent { code: None, .. }), "{err:?}");
    }

    #[tokio::test]
    async fn network_errors_are_retryable() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let api = client(&format!("http://{addr}/graph"));
        let err = api
            .send(&citizen(), &OutboundMessage::Text { body: "x".into() }, None)
            .await
            .unwrap_err();
        assert!(matches!(err, SendError::Retryable { code: None, .. }), "{err:?}");
        assert!(!format!("{err}").contains(TOKEN));
    }
}
