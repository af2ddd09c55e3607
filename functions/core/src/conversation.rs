//! Conversation rules (DESIGN §2): bursts, greetings, status questions, "is this about your open
//! complaint?", and matching an officer's message to a complaint.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ComplaintId, Phone};
use crate::inbound::InboundMessage;
use crate::routing::normalise;

/// An open burst: messages before `settles_at` join `complaint` (the citizen's complaint or the
/// officer's report on it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    pub complaint: ComplaintId,
    pub settles_at: DateTime<Utc>,
}

impl Draft {
    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        now <= self.settles_at
    }
}

/// A question we asked and are waiting on, with the messages held until it is answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "question", rename_all = "snake_case")]
pub enum Pending {
    SameOrNew {
        complaint: ComplaintId,
        held: Vec<InboundMessage>,
    },
    DissatisfactionReason {
        complaint: ComplaintId,
    },
    WhichComplaint {
        held: Vec<InboundMessage>,
    },
}

/// Per-person state (the conversations table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    pub phone: Phone,
    /// Their last message to us: free-form replies are allowed for 24 hours after it.
    pub last_inbound_at: Option<DateTime<Utc>>,
    pub draft: Option<Draft>,
    pub report_draft: Option<Draft>,
    pub pending: Option<Pending>,
    /// The citizen's latest complaints, newest first (at most `RECENT`): which one a message
    /// joins is decided from these, read by id with strong consistency, never from an index.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent: Vec<ComplaintId>,
    /// Written conditionally on this (no lost updates when two events race).
    pub version: u64,
}

/// How many of a citizen's complaints their conversation remembers.
pub const RECENT: usize = 5;

impl Conversation {
    pub fn new(phone: Phone) -> Self {
        Self {
            phone,
            last_inbound_at: None,
            draft: None,
            report_draft: None,
            pending: None,
            recent: Vec::new(),
            version: 0,
        }
    }

    /// Remembers a new complaint of this citizen, newest first.
    pub fn remember(&mut self, id: ComplaintId) {
        self.recent.retain(|x| *x != id);
        self.recent.insert(0, id);
        self.recent.truncate(RECENT);
    }

    pub fn window_open(&self, now: DateTime<Utc>) -> bool {
        self.last_inbound_at
            .is_some_and(|t| now - t < chrono::Duration::hours(24))
    }
}

const GREETINGS: &[&str] = &[
    "hi",
    "hii",
    "hiii",
    "hello",
    "helo",
    "hey",
    "namaste",
    "namaskar",
    "namaskaar",
    "pranam",
    "ram ram",
    "jai hind",
    "good morning",
    "good evening",
    "good afternoon",
    "नमस्ते",
    "नमस्कार",
    "प्रणाम",
    "राम राम",
    "जय हिंद",
    "हेलो",
    "हैलो",
    "हाय",
];
const POLITE: &[&str] = &["sir", "ji", "जी", "सर", "madam", "मैडम", "sahab", "साहब"];
const STATUS: &[&str] = &[
    "status",
    "स्थिति",
    "sthiti",
    "stithi",
    "स्टेटस",
    "स्टेटस?",
    "meri shikayat",
    "मेरी शिकायत",
];
const PENDING: &[&str] = &["pending", "लंबित", "lambit", "pending list", "लंबित सूची"];

/// What a citizen's text means before any complaint logic.
#[derive(Debug, Clone, PartialEq)]
pub enum CitizenText {
    /// A greeting alone: welcome, do not register.
    Greeting,
    /// "status", "स्थिति", or a bare complaint number.
    Status(Option<ComplaintId>),
    /// Anything else is (part of) a complaint.
    Content,
}

fn strip_polite(words: &str) -> String {
    words
        .split(' ')
        .filter(|w| !POLITE.contains(w) && w.chars().any(|c| c.is_alphanumeric()))
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn classify_citizen_text(text: &str, district_code: &str) -> CitizenText {
    let norm = normalise(text);
    let core = strip_polite(&norm);
    if core.is_empty() || GREETINGS.contains(&core.as_str()) {
        return CitizenText::Greeting;
    }
    let id = ComplaintId::find_in(text, district_code);
    let words: Vec<&str> = core.split(' ').collect();
    let asks_status = words.iter().any(|w| STATUS.contains(w)) || STATUS.iter().any(|s| core == *s);
    if asks_status && words.len() <= 6 {
        return CitizenText::Status(id);
    }
    if let Some(id) = id {
        // A message that is just the number asks about it.
        if text.split_whitespace().count() <= 2 {
            return CitizenText::Status(Some(id));
        }
    }
    CitizenText::Content
}

pub fn is_pending_request(text: &str) -> bool {
    pending_request(text).is_some()
}

/// "pending", or "pending 2" for the second page: the page asked for (1 when none is named).
pub fn pending_request(text: &str) -> Option<usize> {
    let norm = normalise(text);
    let (words, page) = split_page(&norm);
    PENDING.contains(&words).then_some(page)
}

/// "unassigned 3" → ("unassigned", 3); a text with no page number is page 1.
pub fn split_page(text: &str) -> (&str, usize) {
    let text = text.trim();
    match text.rsplit_once(' ') {
        Some((words, n)) => match n.parse::<usize>() {
            Ok(page) if page >= 1 => (words.trim_end(), page),
            _ => (text, 1),
        },
        None => (text, 1),
    }
}

/// Where a citizen's complaint content goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Placement {
    /// Within the settle window of their open burst.
    JoinDraft(ComplaintId),
    /// After the window, while a complaint is open: ask with buttons.
    AskSameOrNew(ComplaintId),
    Register,
}

/// `latest_open`: the citizen's most recent complaint that is still open, if any.
pub fn place_citizen_content(
    conv: &Conversation,
    latest_open: Option<&ComplaintId>,
    now: DateTime<Utc>,
) -> Placement {
    if let Some(d) = &conv.draft {
        if d.is_open(now) && latest_open == Some(&d.complaint) {
            return Placement::JoinDraft(d.complaint.clone());
        }
    }
    match latest_open {
        Some(id) => Placement::AskSameOrNew(id.clone()),
        None => Placement::Register,
    }
}

/// Which complaint an officer's message reports on: the complaint of the message they replied
/// to, else a number in the text, else their open report burst. None: ask them.
pub fn match_officer_message(
    replied_to: Option<ComplaintId>,
    in_text: Option<ComplaintId>,
    report_draft: Option<&Draft>,
    now: DateTime<Utc>,
) -> Option<ComplaintId> {
    replied_to.or(in_text).or_else(|| {
        report_draft
            .filter(|d| d.is_open(now))
            .map(|d| d.complaint.clone())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn greetings_status_and_content() {
        for g in ["hi", "Hello sir", "नमस्ते जी", "राम राम", "🙏", "Namaste!!"]
        {
            assert_eq!(classify_citizen_text(g, "AMT"), CitizenText::Greeting, "{g}");
        }
        assert_eq!(classify_citizen_text("status", "AMT"), CitizenText::Status(None));
        assert_eq!(classify_citizen_text("स्थिति", "AMT"), CitizenText::Status(None));
        let id = ComplaintId::new("AMT", 2026, 5);
        assert_eq!(
            classify_citizen_text("status AMT-2026-000005", "AMT"),
            CitizenText::Status(Some(id.clone()))
        );
        assert_eq!(
            classify_citizen_text("amt-2026-5", "AMT"),
            CitizenText::Status(Some(id))
        );
        assert_eq!(
            classify_citizen_text("नमस्ते, हमारे गांव में पानी नहीं आ रहा", "AMT"),
            CitizenText::Content
        );
        assert_eq!(
            classify_citizen_text("hi bijli nahi hai", "AMT"),
            CitizenText::Content
        );
        assert!(is_pending_request("Pending"));
        assert!(is_pending_request("लंबित"));
        assert_eq!(pending_request("pending 3"), Some(3));
        assert_eq!(pending_request("लंबित सूची 2"), Some(2));
        assert_eq!(pending_request("pending 0"), None);
        assert_eq!(split_page("unassigned"), ("unassigned", 1));
    }

    #[test]
    fn bursts_join_then_ask() {
        let now = Utc::now();
        let id = ComplaintId::new("AMT", 2026, 1);
        let mut conv = Conversation::new(Phone::new("919812345678"));
        assert_eq!(place_citizen_content(&conv, None, now), Placement::Register);
        conv.draft = Some(Draft {
            complaint: id.clone(),
            settles_at: now + Duration::seconds(60),
        });
        assert_eq!(
            place_citizen_content(&conv, Some(&id), now),
            Placement::JoinDraft(id.clone())
        );
        let later = now + Duration::seconds(61);
        assert_eq!(
            place_citizen_content(&conv, Some(&id), later),
            Placement::AskSameOrNew(id.clone())
        );
        // A closed complaint's draft does not capture new messages.
        assert_eq!(place_citizen_content(&conv, None, now), Placement::Register);
    }

    #[test]
    fn officer_messages_match_by_reply_then_number_then_burst() {
        let now = Utc::now();
        let a = ComplaintId::new("AMT", 2026, 1);
        let b = ComplaintId::new("AMT", 2026, 2);
        let d = Draft {
            complaint: b.clone(),
            settles_at: now + Duration::seconds(30),
        };
        assert_eq!(
            match_officer_message(Some(a.clone()), Some(b.clone()), Some(&d), now),
            Some(a.clone())
        );
        assert_eq!(
            match_officer_message(None, Some(a.clone()), Some(&d), now),
            Some(a)
        );
        assert_eq!(match_officer_message(None, None, Some(&d), now), Some(b));
        assert_eq!(
            match_officer_message(None, None, Some(&d), now + Duration::seconds(31)),
            None
        );
    }

    #[test]
    fn window_is_24_hours() {
        let now = Utc::now();
        let mut conv = Conversation::new(Phone::new("91"));
        assert!(!conv.window_open(now));
        conv.last_inbound_at = Some(now - Duration::hours(23));
        assert!(conv.window_open(now));
        conv.last_inbound_at = Some(now - Duration::hours(24));
        assert!(!conv.window_open(now));
    }
}
