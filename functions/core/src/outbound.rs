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
    },
    List {
        body: String,
        button: String,
        rows: Vec<ListRow>,
    },
    /// An approved template: the only thing that may go outside the 24-hour window.
    Template {
        name: String,
        language: String,
        params: Vec<String>,
        quick_replies: Vec<String>,
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
    OutboundMessage::Buttons {
        body: body.into(),
        buttons: b
            .iter()
            .map(|(id, title)| Button {
                id: id.clone(),
                title: title.to_string(),
            })
            .collect(),
    }
    .into()
}
