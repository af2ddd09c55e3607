//! Shared simulator state and the identifiers it mints.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use rand::Rng;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use crate::config::SimConfig;
use crate::faults::Faults;
use crate::templates::TemplateStore;
use crate::types::{MediaRequest, RejectedSend, SentMessage};

pub(crate) struct Inner {
    pub cfg: SimConfig,
    pub state: Mutex<State>,
    /// Woken whenever a send is accepted, for `wait_for`.
    pub sent_notify: Notify,
    pub http: reqwest::Client,
}

impl Inner {
    /// Locks the state; a panic elsewhere must not wedge the simulator, so poison is ignored.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub(crate) struct MediaItem {
    pub bytes: Vec<u8>,
    pub mime_type: String,
    pub filename: Option<String>,
}

/// A message a simulated user posted to the webhook.
#[derive(Clone)]
pub(crate) struct InboundRecord {
    pub seq: u64,
    pub key: String,
    pub wamid: String,
    pub message: Value,
    pub at: DateTime<Utc>,
}

#[derive(Default)]
pub(crate) struct State {
    pub webhook_url: Option<String>,
    /// `http://host:port` of this simulator, when known (set by `serve`).
    pub base_url: Option<String>,
    pub seq: u64,
    pub sent: Vec<(u64, SentMessage)>,
    pub rejected: Vec<RejectedSend>,
    pub inbound: Vec<InboundRecord>,
    pub last_inbound: HashMap<String, DateTime<Utc>>,
    pub last_accepted: HashMap<String, Instant>,
    pub unreachable: HashSet<String>,
    pub failures: HashMap<String, VecDeque<(u16, i64)>>,
    pub media: HashMap<String, MediaItem>,
    pub media_requests: Vec<MediaRequest>,
    /// BSUIDs we minted for phone users, so a send to `recipient: <BSUID>` finds the phone.
    pub bsuid_phone: HashMap<String, String>,
    pub read_marks: Vec<String>,
    /// The fault plan in force (none by default) and what it injected.
    pub faults: Faults,
    /// The WABA's message templates (`SimConfig::templates` plus any created through the API).
    pub templates: TemplateStore,
}

impl State {
    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// One key per user: a BSUID we minted for a phone resolves to that phone.
    pub fn resolve(&self, normalized: &str) -> String {
        self.bsuid_phone
            .get(normalized)
            .cloned()
            .unwrap_or_else(|| normalized.to_string())
    }

    pub fn store_media(&mut self, item: MediaItem) -> String {
        let mut rng = rand::thread_rng();
        loop {
            // Meta media ids are opaque 15–16 digit numbers.
            let id = rng
                .gen_range(1_000_000_000_000_000u64..10_000_000_000_000_000)
                .to_string();
            if !self.media.contains_key(&id) {
                self.media.insert(id.clone(), item);
                return id;
            }
        }
    }
}

/// Normalizes a user address the way Meta reads `to`: a BSUID (has a '.') is kept as is; otherwise
/// only digits count, and a short number given without '+' gets the business country code.
pub(crate) fn normalize_user(input: &str, country_code: &str) -> String {
    let trimmed = input.trim();
    if trimmed.contains('.') {
        return trimmed.to_string();
    }
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_start_matches('0').to_string();
    if !trimmed.starts_with('+') && digits.len() <= 10 && !digits.is_empty() {
        format!("{country_code}{digits}")
    } else {
        digits
    }
}

pub(crate) fn is_bsuid(s: &str) -> bool {
    s.contains('.')
}

/// A stable BSUID for a phone user, as Meta attaches `user_id` to every contact from 2026.
pub(crate) fn bsuid_for(phone: &str) -> String {
    let digest = Sha256::digest(format!("bsuid:{phone}").as_bytes());
    let digits: String = digest
        .iter()
        .take(20)
        .map(|b| char::from(b'0' + b % 10))
        .collect();
    let country = if phone.starts_with("91") {
        "IN"
    } else if phone.starts_with('1') {
        "US"
    } else {
        "ZZ"
    };
    format!("{country}.{digits}")
}

/// A wamid shaped like Meta's: base64 of a small protobuf-ish blob holding the user and a random id.
pub(crate) fn new_wamid(user: &str) -> String {
    let mut rng = rand::thread_rng();
    let user = if user.len() < 100 { user } else { "0" };
    let mut blob = vec![0x1c, 0x18, user.len() as u8];
    blob.extend_from_slice(user.as_bytes());
    blob.extend_from_slice(&[0x15, 0x02, 0x00, 0x12, 0x18, 0x14]);
    for _ in 0..20 {
        blob.push(b"0123456789ABCDEF"[rng.gen_range(0..16)]);
    }
    blob.push(0x00);
    format!("wamid.{}", base64::engine::general_purpose::STANDARD.encode(blob))
}

pub(crate) fn random_token(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(rand::distributions::Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// Which message type a media of this MIME type can be sent as (reference §7): image, video,
/// audio, sticker (WebP) or document (anything else Meta takes).
pub(crate) fn media_kind(mime: &str) -> &'static str {
    let base = mime.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match base.as_str() {
        "image/webp" => "sticker",
        b if b.starts_with("image/") => "image",
        b if b.starts_with("video/") => "video",
        b if b.starts_with("audio/") => "audio",
        _ => "document",
    }
}

/// File extension for a download URL's `ext=` hint.
pub(crate) fn ext_for(mime: &str) -> &'static str {
    match mime.split(';').next().unwrap_or("").trim() {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/webp" => "webp",
        "video/mp4" => "mp4",
        "video/3gpp" => "3gp",
        "audio/ogg" => "ogg",
        "audio/mpeg" => "mp3",
        "audio/aac" => "aac",
        "audio/amr" => "amr",
        "audio/mp4" => "m4a",
        "application/pdf" => "pdf",
        "text/plain" => "txt",
        _ => "bin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_like_meta() {
        for input in [
            "919812345678",
            "+919812345678",
            "+91 98123-45678",
            "9812345678",
            "98123 45678",
            "+91 (98123) 45678",
        ] {
            assert_eq!(normalize_user(input, "91"), "919812345678", "{input}");
        }
        assert_eq!(normalize_user("IN.8190765875", "91"), "IN.8190765875");
        // With '+', the country code is whatever the caller wrote.
        assert_eq!(normalize_user("+16505551234", "91"), "16505551234");
    }

    #[test]
    fn wamids_are_unique_and_prefixed() {
        let a = new_wamid("919812345678");
        let b = new_wamid("919812345678");
        assert!(a.starts_with("wamid.HBgM"), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn bsuid_is_stable() {
        let b = bsuid_for("919812345678");
        assert_eq!(b, bsuid_for("919812345678"));
        assert!(b.starts_with("IN.") && b.len() == 23, "{b}");
    }
}
