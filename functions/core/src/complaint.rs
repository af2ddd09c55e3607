//! The complaint record and its timeline.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ComplaintId, Phone};

/// Where a complaint is in its life. Exhaustive: every match must say what each state means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Received and numbered; waiting for its burst to settle, or for the control room to assign
    /// a department (the "unassigned" register).
    Registered,
    /// With an officer; the report is due at `due_at`.
    Forwarded,
    /// The officer has started their report (text and evidence); it goes out once it settles.
    Reported,
    /// The complainant has the report and has been asked for feedback.
    ReportDelivered,
    /// The complainant was not satisfied; it goes to an officer again.
    Reopened,
    Closed,
    /// Out of scope, with a reason told to the complainant.
    Rejected,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Registered => "registered",
            Status::Forwarded => "forwarded",
            Status::Reported => "reported",
            Status::ReportDelivered => "report_delivered",
            Status::Reopened => "reopened",
            Status::Closed => "closed",
            Status::Rejected => "rejected",
        }
    }

    pub fn is_open(self) -> bool {
        !matches!(self, Status::Closed | Status::Rejected)
    }

    /// Hindi and English words for the status, as a citizen reads them.
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            Status::Registered => ("दर्ज", "registered"),
            Status::Forwarded => ("अधिकारी को भेजी गई", "with the officer"),
            Status::Reported => ("आख्या प्राप्त", "report received"),
            Status::ReportDelivered => ("आख्या भेजी गई", "report sent to you"),
            Status::Reopened => ("पुनः खोली गई", "reopened"),
            Status::Closed => ("निस्तारित", "closed"),
            Status::Rejected => ("अस्वीकृत", "rejected"),
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Image,
    Video,
    Audio,
    Document,
    Sticker,
}

impl MediaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Video => "video",
            MediaKind::Audio => "audio",
            MediaKind::Document => "document",
            MediaKind::Sticker => "sticker",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "image" => MediaKind::Image,
            "video" => MediaKind::Video,
            "audio" => MediaKind::Audio,
            "document" => MediaKind::Document,
            "sticker" => MediaKind::Sticker,
            _ => return None,
        })
    }
}

/// A stored piece of media: where it is in our media store and what it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaItem {
    pub wamid: String,
    pub kind: MediaKind,
    pub mime_type: String,
    /// Hex sha256 of the stored bytes (checked against Meta's on download).
    pub sha256: String,
    pub bytes: u64,
    /// Key in the media store: `media/<complaint>/<inbound|report>/<wamid>.<ext>`.
    pub key: String,
    #[serde(default)]
    pub caption: Option<String>,
    #[serde(default)]
    pub filename: Option<String>,
    #[serde(default)]
    pub voice: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
}

/// The officer's action-taken report (आख्या).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Report {
    pub officer: Option<Phone>,
    pub text: String,
    pub media: Vec<MediaItem>,
    pub started_at: Option<DateTime<Utc>>,
    /// The report goes to the citizen once no more evidence has arrived until this time.
    pub settles_at: Option<DateTime<Utc>>,
    pub wamids: Vec<String>,
    /// How much of the report the citizen has been sent: evidence that arrives during or after
    /// the delivery follows on its own, never silently kept back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered: Option<ReportMark>,
}

/// A point in a growing report: its parts (messages), media and text so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReportMark {
    pub parts: usize,
    pub media: usize,
    pub text_chars: usize,
    /// Only announced: the citizen's window was closed, so they have the report template (its
    /// first piece of evidence in the header) and the rest waits for their *View report* tap.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub announced: bool,
}

impl Report {
    /// Where the report stands now.
    pub fn mark(&self) -> ReportMark {
        ReportMark {
            parts: self.wamids.len(),
            media: self.media.len(),
            text_chars: self.text.chars().count(),
            announced: false,
        }
    }

    /// The citizen has the template only; the evidence and the buttons wait for their tap.
    pub fn announced(&self) -> bool {
        self.delivered.is_some_and(|d| d.announced)
    }

    /// Parts that arrived after the last delivery (all of them before the first).
    pub fn undelivered(&self) -> bool {
        self.wamids.len() > self.delivered.map_or(0, |m| m.parts)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum Feedback {
    Satisfied {
        at: DateTime<Utc>,
    },
    Dissatisfied {
        at: DateTime<Utc>,
        reason: Option<String>,
    },
    NoAnswer {
        at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Complaint {
    pub id: ComplaintId,
    /// Bumped on every write; writes are conditional on the version read (no lost updates).
    pub version: u64,
    pub status: Status,
    pub complainant: Phone,
    #[serde(default)]
    pub complainant_name: Option<String>,
    pub department: Option<String>,
    pub officer: Option<Phone>,
    /// Everything the complainant wrote, one paragraph per message.
    pub text: String,
    pub location: Option<Location>,
    pub media: Vec<MediaItem>,
    /// Inbound message ids that make up the complaint (for idempotency).
    pub wamids: Vec<String>,
    pub report: Option<Report>,
    pub feedback: Option<Feedback>,
    pub reopen_count: u32,
    pub escalation_level: u32,
    pub created_at: DateTime<Utc>,
    /// Messages arriving before this time join this complaint; forwarding waits for it.
    pub settles_at: Option<DateTime<Utc>>,
    pub forwarded_at: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    pub reported_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub rejection_reason: Option<String>,
    /// Sends that failed for good (number not on WhatsApp, window closed with no template).
    #[serde(default)]
    pub delivery_failures: Vec<String>,
    /// Reminders already sent for the current deadline (indexes into `[escalation] reminders`).
    #[serde(default)]
    pub reminders_sent: Vec<u32>,
    /// Breach escalations already made for the current deadline (1 = the officer's
    /// `reports_to`, 2 = the next level up …); `escalation_level` is the highest ever reached.
    #[serde(default)]
    pub breach_level: u32,
    /// When the escalator should look at this complaint next (a reminder, an escalation or
    /// auto-close falls due); `None` when nothing is scheduled. The lifecycle sets it to "now"
    /// when a deadline or a feedback period starts, and the escalator, which holds the policy
    /// (`escalation::plan`), moves it to the precise time. Indexed for open complaints.
    #[serde(default)]
    pub next_action_at: Option<DateTime<Utc>>,
    /// Commands written with the last state change and not yet known to be on their queues
    /// (the outbox): whoever reads the complaint next sends them before writing it again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outbox: Vec<crate::command::OutboxItem>,
}

impl Complaint {
    pub fn new(id: ComplaintId, complainant: Phone, name: Option<String>, now: DateTime<Utc>) -> Self {
        Self {
            id,
            version: 0,
            status: Status::Registered,
            complainant,
            complainant_name: name,
            department: None,
            officer: None,
            text: String::new(),
            location: None,
            media: Vec::new(),
            wamids: Vec::new(),
            report: None,
            feedback: None,
            reopen_count: 0,
            escalation_level: 0,
            created_at: now,
            settles_at: None,
            forwarded_at: None,
            accepted_at: None,
            due_at: None,
            reported_at: None,
            delivered_at: None,
            closed_at: None,
            rejection_reason: None,
            delivery_failures: Vec::new(),
            reminders_sent: Vec::new(),
            breach_level: 0,
            next_action_at: None,
            outbox: Vec::new(),
        }
    }

    /// A one-line subject for registers and lists: the first line of the text, shortened.
    pub fn subject(&self, max_chars: usize) -> String {
        let first = self.text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        let mut s: String = first.trim().chars().take(max_chars).collect();
        if first.trim().chars().count() > max_chars {
            s.push('…');
        }
        if s.is_empty() {
            match self.media.first() {
                Some(m) => format!("({})", m.kind.as_str()),
                None if self.location.is_some() => "(location)".into(),
                None => "(no text)".into(),
            }
        } else {
            s
        }
    }

    pub fn has_wamid(&self, wamid: &str) -> bool {
        self.wamids.iter().any(|w| w == wamid)
            || self
                .report
                .as_ref()
                .is_some_and(|r| r.wamids.iter().any(|w| w == wamid))
    }
}

/// Who caused a transition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "phone", rename_all = "snake_case")]
pub enum Actor {
    Complainant(Phone),
    Officer(Phone),
    ControlRoom(Phone),
    Supervisor(Phone),
    System,
}

impl Actor {
    /// As `describe`, with the phone number masked (for messages to officials).
    pub fn describe_masked(&self) -> String {
        match self {
            Actor::Complainant(p) => format!("complainant {}", p.masked()),
            Actor::Officer(p) => format!("officer {}", p.masked()),
            Actor::ControlRoom(p) => format!("control room {}", p.masked()),
            Actor::Supervisor(p) => format!("supervisor {}", p.masked()),
            Actor::System => "system".into(),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Actor::Complainant(p) => format!("complainant {p}"),
            Actor::Officer(p) => format!("officer {p}"),
            Actor::ControlRoom(p) => format!("control room {p}"),
            Actor::Supervisor(p) => format!("supervisor {p}"),
            Actor::System => "system".into(),
        }
    }
}

/// One line of a complaint's timeline: who did what, when and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    pub actor: Actor,
    /// Short machine name of the event (`registered`, `forwarded`, `report_part` …).
    pub event: String,
    pub from: Status,
    pub to: Status,
    /// Human-readable detail (department, reason, officer …).
    pub detail: String,
}
