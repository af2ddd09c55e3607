//! Records of what the business did through the simulator, and the inputs for acting as a user.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::template_send::Rendered;

/// A send the simulator accepted (HTTP 200 from `/messages`).
#[derive(Clone, Debug)]
pub struct SentMessage {
    pub wamid: String,
    /// Normalized recipient: wa_id digits, or the BSUID when the user is only known by one.
    pub to: String,
    /// text, image, video, audio, document, sticker, interactive, template, location, …
    pub kind: String,
    /// The JSON body exactly as the business sent it.
    pub request: Value,
    pub at: DateTime<Utc>,
    /// Bytes of media sent by an uploaded (or otherwise known) media id.
    pub media: Option<Vec<u8>>,
    /// A template as the recipient sees it, from the approved definition it was checked against.
    pub(crate) rendered: Option<Rendered>,
}

fn push_str(out: &mut Vec<String>, v: Option<&Value>) {
    if let Some(s) = v.and_then(Value::as_str) {
        if !s.is_empty() {
            out.push(s.to_string());
        }
    }
}

impl SentMessage {
    /// All human-visible text, one piece per line: text body, captions, interactive
    /// header/body/footer with button titles and list rows, a template's text (header, body with
    /// its parameters, footer) with its quick replies' labels.
    pub fn text(&self) -> String {
        let r = &self.request;
        let mut out = Vec::new();
        match self.kind.as_str() {
            "text" => push_str(&mut out, r.pointer("/text/body")),
            "image" | "video" | "audio" | "document" | "sticker" => {
                push_str(&mut out, r.pointer(&format!("/{}/caption", self.kind)));
                push_str(&mut out, r.pointer(&format!("/{}/filename", self.kind)));
            }
            "interactive" => {
                let i = r.get("interactive").unwrap_or(&Value::Null);
                push_str(&mut out, i.pointer("/header/text"));
                push_str(&mut out, i.pointer("/body/text"));
                push_str(&mut out, i.pointer("/footer/text"));
                for b in array(i.pointer("/action/buttons")) {
                    push_str(&mut out, b.pointer("/reply/title"));
                }
                push_str(&mut out, i.pointer("/action/button"));
                for s in array(i.pointer("/action/sections")) {
                    push_str(&mut out, s.get("title"));
                    for row in array(s.get("rows")) {
                        push_str(&mut out, row.get("title"));
                        push_str(&mut out, row.get("description"));
                    }
                }
            }
            // As WhatsApp shows it: the approved wording with the parameters in place, then the
            // quick replies' labels.
            "template" => {
                if let Some(t) = &self.rendered {
                    out.push(t.text.clone());
                    out.extend(t.quick_replies.iter().map(|(_, label)| label.clone()));
                }
            }
            "location" => {
                push_str(&mut out, r.pointer("/location/name"));
                push_str(&mut out, r.pointer("/location/address"));
            }
            "reaction" => push_str(&mut out, r.pointer("/reaction/emoji")),
            _ => {}
        }
        out.join("\n")
    }

    /// Ids a user can tap: reply-button ids, list row ids, template quick-reply payloads.
    pub fn button_ids(&self) -> Vec<String> {
        self.buttons().into_iter().map(|b| b.id).collect()
    }

    pub fn context_id(&self) -> Option<String> {
        self.request
            .pointer("/context/message_id")
            .and_then(Value::as_str)
            .map(str::to_string)
    }

    pub fn template_name(&self) -> Option<String> {
        self.request
            .pointer("/template/name")
            .and_then(Value::as_str)
            .map(str::to_string)
    }

    /// Tappable things with their labels; used by `button_ids` and the sandbox.
    pub(crate) fn buttons(&self) -> Vec<Button> {
        let r = &self.request;
        let mut out = Vec::new();
        for b in array(r.pointer("/interactive/action/buttons")) {
            if let Some(id) = b.pointer("/reply/id").and_then(Value::as_str) {
                let title = b.pointer("/reply/title").and_then(Value::as_str).unwrap_or(id);
                out.push(Button::new("button", id, title));
            }
        }
        for s in array(r.pointer("/interactive/action/sections")) {
            for row in array(s.get("rows")) {
                if let Some(id) = row.get("id").and_then(Value::as_str) {
                    let title = row.get("title").and_then(Value::as_str).unwrap_or(id);
                    out.push(Button::new("list", id, title));
                }
            }
        }
        // A tap returns the payload set at send time (the tap id) and the definition's label.
        for (payload, label) in self.rendered.iter().flat_map(|t| &t.quick_replies) {
            out.push(Button::new("template", payload, label));
        }
        out
    }
}

#[derive(Clone, Debug, serde::Serialize)]
pub(crate) struct Button {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: String,
    pub title: String,
}

impl Button {
    fn new(kind: &'static str, id: &str, title: &str) -> Self {
        Self {
            kind,
            id: id.to_string(),
            title: title.to_string(),
        }
    }
}

pub(crate) fn array(v: Option<&Value>) -> &[Value] {
    v.and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

/// A send the simulator refused, with the Graph error code it answered.
#[derive(Clone, Debug)]
pub struct RejectedSend {
    pub to: String,
    pub code: i64,
    pub http_status: u16,
    pub request: Value,
    pub at: DateTime<Utc>,
}

/// One media lookup, download or upload, and whether it carried the right bearer token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaRequest {
    pub media_id: String,
    /// "lookup" | "download" | "upload"
    pub what: String,
    pub authorized: bool,
}

/// Media a simulated user sends; the bytes become downloadable through the Graph media routes.
#[derive(Clone)]
pub struct InboundMedia {
    /// image | video | audio | document | sticker
    pub kind: String,
    pub bytes: Vec<u8>,
    pub mime_type: String,
    pub caption: Option<String>,
    pub filename: Option<String>,
    /// Audio recorded as a voice note (`audio.voice = true`).
    pub voice: bool,
    /// Makes the message a quoted reply to this wamid.
    pub context_wamid: Option<String>,
    /// Include the (2025+) `url` field in the webhook media object.
    pub include_url: bool,
}

impl std::fmt::Debug for InboundMedia {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboundMedia")
            .field("kind", &self.kind)
            .field("bytes", &format_args!("{} bytes", self.bytes.len()))
            .field("mime_type", &self.mime_type)
            .field("caption", &self.caption)
            .field("filename", &self.filename)
            .field("voice", &self.voice)
            .field("context_wamid", &self.context_wamid)
            .field("include_url", &self.include_url)
            .finish()
    }
}

impl InboundMedia {
    pub fn new(kind: &str, bytes: Vec<u8>, mime_type: &str) -> Self {
        Self {
            kind: kind.to_string(),
            bytes,
            mime_type: mime_type.to_string(),
            caption: None,
            filename: None,
            voice: false,
            context_wamid: None,
            include_url: false,
        }
    }

    pub fn image(bytes: Vec<u8>, caption: Option<&str>) -> Self {
        Self {
            caption: caption.map(str::to_string),
            ..Self::new("image", bytes, "image/jpeg")
        }
    }

    pub fn video(bytes: Vec<u8>, caption: Option<&str>) -> Self {
        Self {
            caption: caption.map(str::to_string),
            ..Self::new("video", bytes, "video/mp4")
        }
    }

    /// A recorded voice note, as WhatsApp sends it (`audio/ogg; codecs=opus`, `voice: true`).
    pub fn voice_note(bytes: Vec<u8>) -> Self {
        Self {
            voice: true,
            ..Self::new("audio", bytes, "audio/ogg; codecs=opus")
        }
    }

    pub fn document(bytes: Vec<u8>, filename: &str, mime: &str) -> Self {
        Self {
            filename: Some(filename.to_string()),
            ..Self::new("document", bytes, mime)
        }
    }

    pub fn sticker(bytes: Vec<u8>) -> Self {
        Self::new("sticker", bytes, "image/webp")
    }

    pub fn with_caption(mut self, caption: &str) -> Self {
        self.caption = Some(caption.to_string());
        self
    }

    pub fn with_context(mut self, wamid: &str) -> Self {
        self.context_wamid = Some(wamid.to_string());
        self
    }

    pub fn with_url(mut self) -> Self {
        self.include_url = true;
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("webhook answered HTTP {0} (Meta would retry)")]
    Webhook(u16),
    #[error("no webhook URL configured")]
    NoWebhook,
    #[error("webhook request failed: {0}")]
    Http(String),
    #[error("nothing matching was sent to {to}; it received: {received:?}")]
    Timeout { to: String, received: Vec<String> },
    #[error("invalid input: {0}")]
    Invalid(String),
}
