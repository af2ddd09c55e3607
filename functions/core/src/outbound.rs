//! What we send: WhatsApp message shapes, independent of the wire format.

use serde::{Deserialize, Serialize};

use crate::complaint::MediaKind;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Button {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListRow {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum MediaSource {
    /// In our media store; the sender uploads it to WhatsApp first (never a public link).
    Stored { key: String },
    /// Already uploaded to WhatsApp.
    Uploaded { id: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutboundMessage {
    Text {
        body: String,
    },
    Media {
        kind: MediaKind,
        media: MediaSource,
        mime_type: String,
        caption: Option<String>,
        filename: Option<String>,
    },
    Buttons {
        body: String,
        buttons: Vec<Button>,
        /// An image, video or document above the body: the report's first piece of evidence,
        /// so the report, its photo and the feedback buttons are one message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        header: Option<TemplateMedia>,
    },
    List {
        body: String,
        button: String,
        rows: Vec<ListRow>,
    },
    /// An approved template: the only thing that may go outside the 24-hour window. `params`
    /// are the body's `{{n}}` in order, each built by `param` (one line, never empty);
    /// `quick_replies` are the payloads of its quick-reply buttons in order; `header` fills a
    /// media header (`config/templates/*.json` says which templates have one).
    Template {
        name: String,
        language: String,
        params: Vec<String>,
        quick_replies: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        header: Option<TemplateMedia>,
    },
}

impl OutboundMessage {
    pub fn is_template(&self) -> bool {
        matches!(self, OutboundMessage::Template { .. })
    }

    pub fn kind(&self) -> &'static str {
        match self {
            OutboundMessage::Text { .. } => "text",
            OutboundMessage::Media { kind, .. } => kind.as_str(),
            OutboundMessage::Buttons { .. } => "buttons",
            OutboundMessage::List { .. } => "list",
            OutboundMessage::Template { .. } => "template",
        }
    }
}

/// The media of a template's IMAGE, VIDEO or DOCUMENT header, or of reply buttons' header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateMedia {
    pub kind: MediaKind,
    pub media: MediaSource,
    pub mime_type: String,
    pub filename: Option<String>,
}

/// One template parameter as Meta accepts it (error 132018 otherwise): one line, no tabs, no run
/// of more than four spaces, never empty, at most `max` characters. Line breaks become ` · `, so
/// a multi-line text still reads as separate parts; the fixed wording lives in the approved body.
pub fn param(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.lines().map(str::trim).filter(|l| !l.is_empty()).enumerate() {
        if i > 0 {
            out.push_str(" · ");
        }
        // split_whitespace drops tabs and collapses every run of spaces to one.
        for (j, word) in line.split_whitespace().enumerate() {
            if j > 0 {
                out.push(' ');
            }
            out.push_str(word);
        }
    }
    if out.is_empty() {
        out.push('-');
    }
    crate::catalogue::clip(&out, max.max(1))
}

/// One message with its optional quoted reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outgoing {
    pub message: OutboundMessage,
    pub reply_to: Option<String>,
}

impl From<OutboundMessage> for Outgoing {
    fn from(message: OutboundMessage) -> Self {
        Self {
            message,
            reply_to: None,
        }
    }
}

/// What to send to one person: the free-form messages for inside the 24-hour window, and the
/// template to send instead when the window is closed (None: nothing can be sent then).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rendered {
    pub free_form: Vec<Outgoing>,
    pub template: Option<OutboundMessage>,
}

pub fn text(body: impl Into<String>) -> Outgoing {
    OutboundMessage::Text { body: body.into() }.into()
}

pub fn buttons(body: impl Into<String>, b: &[(String, &str)]) -> Outgoing {
    buttons_under(None, body, b)
}

/// Reply buttons with a media header (an image, video or document above the body).
pub fn buttons_under(
    header: Option<TemplateMedia>,
    body: impl Into<String>,
    b: &[(String, &str)],
) -> Outgoing {
    OutboundMessage::Buttons {
        body: body.into(),
        buttons: b
            .iter()
            .map(|(id, title)| Button {
                id: id.clone(),
                title: title.to_string(),
            })
            .collect(),
        header,
    }
    .into()
}

impl OutboundMessage {
    /// The media header of a template or of reply buttons, if any.
    pub fn header_mut(&mut self) -> Option<&mut TemplateMedia> {
        match self {
            OutboundMessage::Template { header, .. } | OutboundMessage::Buttons { header, .. } => {
                header.as_mut()
            }
            _ => None,
        }
    }
}
