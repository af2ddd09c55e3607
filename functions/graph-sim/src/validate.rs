//! Graph-shaped errors and the request checks Meta applies to `/messages` bodies.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::state::random_token;
use crate::types::array;

/// One Graph API error, rendered as `{"error":{…}}`.
#[derive(Clone, Debug)]
pub(crate) struct GraphErr {
    pub status: StatusCode,
    pub code: i64,
    pub title: String,
    pub details: Option<String>,
    /// Meta still sends `error_subcode` on some management errors (e.g. 2388024, a duplicate
    /// template), though it is documented as deprecated.
    pub subcode: Option<i64>,
}

impl GraphErr {
    pub fn new(status: StatusCode, code: i64, title: &str, details: &str) -> Self {
        Self {
            status,
            code,
            title: title.to_string(),
            details: Some(details.to_string()),
            subcode: None,
        }
    }

    pub fn with_subcode(mut self, subcode: i64) -> Self {
        self.subcode = Some(subcode);
        self
    }

    /// Code 100: since v16 every invalid-parameter error has this title; `details` says why.
    pub fn invalid(details: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: 100,
            title: "Invalid parameter".into(),
            details: Some(details.into()),
            subcode: None,
        }
    }

    pub fn auth() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: 190,
            title: "Invalid OAuth access token - Cannot parse access token".into(),
            details: None,
            subcode: None,
        }
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            100,
            &format!(
                "Unsupported request. Object with ID '{what}' does not exist, cannot be loaded due to missing permissions, or does not support this operation"
            ),
            "Unknown object",
        )
    }

    pub fn re_engagement() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            131047,
            "Re-engagement message",
            "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
        )
    }

    pub fn undeliverable() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            131026,
            "Message undeliverable",
            "Unable to deliver message. Reasons can include: the recipient phone number is not a WhatsApp phone number, the recipient has not accepted the new Terms of Service, or is using an old WhatsApp version.",
        )
    }

    pub fn pair_rate() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            131056,
            "(Business Account, Consumer Account) pair rate limit hit",
            "Too many messages sent from the sender phone number to the same recipient phone number in a short period of time.",
        )
    }

    /// A failure injected by `fail_next_sends`, titled like Meta's for the common codes.
    pub fn injected(http_status: u16, code: i64) -> Self {
        let title = match code {
            131000 => "Something went wrong",
            131016 => "Service unavailable",
            130429 => "Rate limit hit",
            131048 => "Spam rate limit hit",
            131053 => "Media upload error",
            _ => "Simulated failure",
        };
        let status = StatusCode::from_u16(http_status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self::new(status, code, title, "Injected by the Graph simulator.")
    }

    pub fn body(&self) -> Value {
        let mut err = json!({
            "message": format!("(#{}) {}", self.code, self.title),
            "type": "OAuthException",
            "code": self.code,
            "fbtrace_id": random_token(23),
        });
        if self.code == 190 {
            err["message"] = json!(self.title);
        }
        if let Some(subcode) = self.subcode {
            err["error_subcode"] = json!(subcode);
        }
        if let Some(details) = &self.details {
            err["error_data"] = json!({ "messaging_product": "whatsapp", "details": details });
        }
        json!({ "error": err })
    }
}

impl IntoResponse for GraphErr {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

pub(crate) const SEND_TYPES: &[&str] = &[
    "text",
    "image",
    "video",
    "audio",
    "document",
    "sticker",
    "interactive",
    "template",
    "location",
    "reaction",
    "contacts",
];

fn chars(v: Option<&Value>) -> usize {
    v.and_then(Value::as_str).map_or(0, |s| s.chars().count())
}

fn check_max(v: &Value, pointer: &str, max: usize, name: &str) -> Result<(), GraphErr> {
    let n = chars(v.pointer(pointer));
    if n > max {
        return Err(GraphErr::invalid(format!(
            "Param {name} must be at most {max} characters long (got {n})."
        )));
    }
    Ok(())
}

fn require_str(v: &Value, pointer: &str, name: &str) -> Result<(), GraphErr> {
    match v.pointer(pointer).and_then(Value::as_str) {
        Some(s) if !s.trim().is_empty() => Ok(()),
        _ => Err(GraphErr::invalid(format!("The parameter {name} is required."))),
    }
}

fn is_number(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Number(_)) => true,
        Some(Value::String(s)) => s.trim().parse::<f64>().is_ok(),
        _ => false,
    }
}

fn require_coordinates(location: &Value) -> Result<(), GraphErr> {
    if is_number(location.get("latitude")) && is_number(location.get("longitude")) {
        Ok(())
    } else {
        Err(GraphErr::invalid(
            "Params location['latitude'] and location['longitude'] are required numbers.",
        ))
    }
}

/// Checks a send body (not mark-as-read) and returns its message type.
pub(crate) fn validate_send(body: &Value) -> Result<String, GraphErr> {
    if body.get("messaging_product").and_then(Value::as_str) != Some("whatsapp") {
        return Err(GraphErr::invalid(
            "The parameter messaging_product is required and must be 'whatsapp'.",
        ));
    }
    // Meta defaults a missing type to text.
    let kind = body.get("type").and_then(Value::as_str).unwrap_or("text");
    if !SEND_TYPES.contains(&kind) {
        return Err(GraphErr::invalid(format!(
            "Param type must be one of {{{}}}; got '{kind}'.",
            SEND_TYPES.join(", ")
        )));
    }
    if let Some(ctx) = body.get("context") {
        if ctx.get("message_id").and_then(Value::as_str).is_none() {
            return Err(GraphErr::invalid("Param context['message_id'] is required."));
        }
    }
    // Echoed back in statuses; Meta caps it at 512 characters (reference §8).
    check_max(body, "/biz_opaque_callback_data", 512, "biz_opaque_callback_data")?;
    let Some(payload) = body.get(kind).filter(|p| p.is_object() || p.is_array()) else {
        return Err(GraphErr::invalid(format!("The parameter {kind} is required.")));
    };
    match kind {
        "text" => {
            require_str(body, "/text/body", "text['body']")?;
            check_max(body, "/text/body", 4096, "text['body']")?;
        }
        "image" | "video" | "audio" | "document" | "sticker" => {
            let has_id = payload.get("id").and_then(Value::as_str).is_some();
            let has_link = payload.get("link").and_then(Value::as_str).is_some();
            if !has_id && !has_link {
                return Err(GraphErr::invalid(format!(
                    "Param {kind} must contain either 'id' or 'link'."
                )));
            }
            check_max(payload, "/caption", 1024, &format!("{kind}['caption']"))?;
        }
        "interactive" => validate_interactive(payload)?,
        "template" => {
            require_str(payload, "/name", "template['name']")?;
            require_str(payload, "/language/code", "template['language']['code']")?;
        }
        "location" => require_coordinates(payload)?,
        "reaction" => require_str(payload, "/message_id", "reaction['message_id']")?,
        _ => {}
    }
    Ok(kind.to_string())
}

fn validate_interactive(i: &Value) -> Result<(), GraphErr> {
    check_max(i, "/footer/text", 60, "interactive['footer']['text']")?;
    check_max(i, "/header/text", 60, "interactive['header']['text']")?;
    let kind = i.get("type").and_then(Value::as_str);
    // Reply buttons take a text or media header; a list takes text only (reference §8.4).
    if let Some(header) = i.get("header") {
        let allowed: &[&str] = match kind {
            Some("list") => &["text"],
            _ => &["text", "image", "video", "document"],
        };
        let h = header.get("type").and_then(Value::as_str).unwrap_or("");
        if !allowed.contains(&h) {
            return Err(GraphErr::invalid(format!(
                "Param interactive['header']['type'] must be one of {allowed:?} here (got {h:?})."
            )));
        }
    }
    match kind {
        Some("button") => {
            require_str(i, "/body/text", "interactive['body']['text']")?;
            check_max(i, "/body/text", 1024, "interactive['body']['text']")?;
            let buttons = array(i.pointer("/action/buttons"));
            if buttons.is_empty() || buttons.len() > 3 {
                return Err(GraphErr::invalid(format!(
                    "Param interactive['action']['buttons'] must have between 1 and 3 elements (got {}).",
                    buttons.len()
                )));
            }
            let mut titles = Vec::new();
            for b in buttons {
                require_str(b, "/reply/id", "button reply id")?;
                require_str(b, "/reply/title", "button reply title")?;
                check_max(b, "/reply/id", 256, "button reply id")?;
                check_max(
                    b,
                    "/reply/title",
                    20,
                    "interactive['action']['buttons'][]['reply']['title']",
                )?;
                let title = b.pointer("/reply/title").and_then(Value::as_str).unwrap_or("");
                if titles.contains(&title) {
                    return Err(GraphErr::invalid("Button titles must be unique."));
                }
                titles.push(title);
            }
        }
        Some("list") => {
            require_str(i, "/body/text", "interactive['body']['text']")?;
            check_max(i, "/body/text", 4096, "interactive['body']['text']")?;
            require_str(i, "/action/button", "interactive['action']['button']")?;
            check_max(i, "/action/button", 20, "interactive['action']['button']")?;
            let sections = array(i.pointer("/action/sections"));
            if sections.is_empty() || sections.len() > 10 {
                return Err(GraphErr::invalid(
                    "Param interactive['action']['sections'] must have between 1 and 10 elements.",
                ));
            }
            let mut rows = 0;
            for s in sections {
                if sections.len() > 1 {
                    require_str(s, "/title", "section title")?;
                }
                check_max(s, "/title", 24, "section title")?;
                for row in array(s.get("rows")) {
                    rows += 1;
                    require_str(row, "/id", "row id")?;
                    require_str(row, "/title", "row title")?;
                    check_max(row, "/id", 200, "row id")?;
                    check_max(row, "/title", 24, "row title")?;
                    check_max(row, "/description", 72, "row description")?;
                }
            }
            if rows == 0 || rows > 10 {
                return Err(GraphErr::invalid(format!(
                    "Total row count across sections must be between 1 and 10 (got {rows})."
                )));
            }
        }
        Some(_) => {}
        None => {
            return Err(GraphErr::invalid(
                "The parameter interactive['type'] is required.",
            ))
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buttons(n: usize, title: &str) -> Value {
        let list: Vec<Value> = (0..n)
            .map(|i| json!({"type":"reply","reply":{"id":format!("B{i}"),"title":format!("{title}{i}")}}))
            .collect();
        json!({"messaging_product":"whatsapp","to":"+919812345678","type":"interactive",
            "interactive":{"type":"button","body":{"text":"?"},"action":{"buttons":list}}})
    }

    #[test]
    fn button_limits() {
        assert!(validate_send(&buttons(3, "ok")).is_ok());
        assert_eq!(validate_send(&buttons(4, "ok")).unwrap_err().code, 100);
        assert_eq!(validate_send(&buttons(2, &"x".repeat(20))).unwrap_err().code, 100);
        // Devanagari titles count characters, not bytes.
        assert!(validate_send(&buttons(2, "असंतुष्ट")).is_ok());
    }

    #[test]
    fn text_and_template_rules() {
        let long = json!({"messaging_product":"whatsapp","type":"text","text":{"body":"a".repeat(4097)}});
        assert_eq!(validate_send(&long).unwrap_err().code, 100);
        let tpl = json!({"messaging_product":"whatsapp","type":"template","template":{"name":"x"}});
        assert_eq!(validate_send(&tpl).unwrap_err().code, 100);
        let ok = json!({"messaging_product":"whatsapp","type":"template","template":{"name":"x","language":{"code":"hi"}}});
        assert_eq!(validate_send(&ok).unwrap(), "template");
    }

    #[test]
    fn headers_by_kind_and_callback_data() {
        let list = |header: Value| {
            json!({"messaging_product":"whatsapp","type":"interactive","interactive":{
                "type":"list","header":header,"body":{"text":"choose"},
                "action":{"button":"Open","sections":[{"rows":[{"id":"R","title":"t"}]}]}}})
        };
        assert!(validate_send(&list(json!({"type":"text","text":"Departments"}))).is_ok());
        let image = json!({"type":"image","image":{"link":"https://x/y.jpg"}});
        assert_eq!(validate_send(&list(image.clone())).unwrap_err().code, 100);
        let mut b = buttons(1, "ok");
        b["interactive"]["header"] = image;
        assert!(validate_send(&b).is_ok());
        b["biz_opaque_callback_data"] = json!("x".repeat(513));
        assert_eq!(validate_send(&b).unwrap_err().code, 100);
    }

    #[test]
    fn list_row_limit() {
        let rows: Vec<Value> = (0..11)
            .map(|i| json!({"id":format!("R{i}"),"title":"t"}))
            .collect();
        let body = json!({"messaging_product":"whatsapp","type":"interactive","interactive":{
            "type":"list","body":{"text":"choose"},"action":{"button":"Open","sections":[{"title":"s","rows":rows}]}}});
        assert_eq!(validate_send(&body).unwrap_err().code, 100);
    }
}
