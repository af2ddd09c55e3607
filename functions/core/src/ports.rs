//! What the functions need from the world. Embedded (SQLite, folder, simulator) and AWS
//! (DynamoDB, S3, SQS, Cloud API) adapters implement these; one conformance suite checks both.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::command::Outbound;
use crate::complaint::{Complaint, TimelineEntry};
use crate::config::{DistrictConfig, Person, Role};
use crate::conversation::Conversation;
use crate::ids::{ComplaintId, Phone};
use crate::inbound::DeliveryStatus;
use crate::outbound::OutboundMessage;

#[derive(Debug, Error)]
pub enum PortError {
    /// A conditional write lost a race (the version moved): re-read and retry.
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("not found: {0}")]
    NotFound(String),
    /// Worth retrying (network, throttling, 5xx).
    #[error("transient: {0}")]
    Transient(String),
    /// Will never succeed as asked.
    #[error("permanent: {0}")]
    Permanent(String),
}

pub type PortResult<T> = Result<T, PortError>;

#[async_trait]
pub trait ComplaintStore: Send + Sync {
    /// The next number in the district's yearly sequence (an atomic counter).
    async fn next_sequence(&self, district: &str, year: i32) -> PortResult<u64>;
    /// Writes a new complaint (version 0 → stored as 1) and its first timeline entries;
    /// `Conflict` if the id exists.
    async fn create(&self, c: &mut Complaint, timeline: &[TimelineEntry]) -> PortResult<()>;
    async fn get(&self, id: &ComplaintId) -> PortResult<Option<Complaint>>;
    /// Writes `c` only if the stored version still equals `c.version`, then bumps it; appends
    /// the timeline entries in the same write.
    async fn update(&self, c: &mut Complaint, timeline: &[TimelineEntry]) -> PortResult<()>;
    /// Empties the complaint's outbox once its commands are on their queues, if the stored
    /// version is still `version` (a later write has replaced the outbox already); the version
    /// does not move, so it never makes another writer's conditional write fail.
    async fn clear_outbox(&self, id: &ComplaintId, version: u64) -> PortResult<()>;
    async fn timeline(&self, id: &ComplaintId) -> PortResult<Vec<TimelineEntry>>;
    /// Newest first.
    async fn by_complainant(&self, who: &Phone) -> PortResult<Vec<Complaint>>;
    /// Open complaints assigned to the officer, soonest due first.
    async fn open_by_officer(&self, officer: &Phone) -> PortResult<Vec<Complaint>>;
    /// The department-wise register: created in [from, to), oldest first.
    async fn by_department(
        &self,
        department: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> PortResult<Vec<Complaint>>;
    /// Open complaints of the department, oldest first (the digest's pending, overdue and
    /// dissatisfied counts). Served by an index holding only open complaints (SQLite: a partial
    /// index on `department`; DynamoDB: the `open#` range of the department's partition of an
    /// index whose sort key says open or closed).
    async fn open_by_department(&self, department: &str) -> PortResult<Vec<Complaint>>;
    /// Complaints of the department closed or rejected in [from, to), by `closed_at` (the
    /// digest's closed-today count). Served by an index on (department, closed_at).
    async fn closed_by_department(
        &self,
        department: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> PortResult<Vec<Complaint>>;
    /// Open complaints with no department (the control room's unassigned register).
    async fn unassigned(&self) -> PortResult<Vec<Complaint>>;
    /// Open complaints due before `before`, soonest first (the escalator's index, never a scan).
    async fn open_due_before(&self, before: DateTime<Utc>, limit: usize) -> PortResult<Vec<Complaint>>;
    /// The escalator's work list: open complaints whose `next_action_at` is set and at or before
    /// `before`, earliest first, at most `limit`. Served by a sparse index holding only open
    /// complaints with `next_action_at` set (SQLite: a partial index; DynamoDB: a sparse GSI of
    /// open complaints with a sharded partition attribute, `open_shard`, and sort key
    /// `<next_action_at>#<id>` (`~#<id>` with nothing scheduled), removed when the complaint
    /// closes, queried up to `before` per shard), so its cost follows the number due, never the
    /// number stored. The escalator moves
    /// `next_action_at` on (or clears it) with each conditional write, which takes a complaint
    /// out of the window; the same complaint may be returned again only if that write failed.
    async fn open_action_due(&self, before: DateTime<Utc>, limit: usize) -> PortResult<Vec<Complaint>>;
}

/// Inbound dedupe marks, command idempotency and the outbound message log.
#[async_trait]
pub trait MessageLog: Send + Sync {
    /// True once `mark_done` has recorded the key (a duplicate or an already finished command).
    async fn is_done(&self, key: &str) -> PortResult<bool>;
    async fn mark_done(&self, key: &str) -> PortResult<()>;
    async fn record_outbound(&self, rec: &OutboundRecord) -> PortResult<()>;
    async fn outbound(&self, wamid: &str) -> PortResult<Option<OutboundRecord>>;
    /// The message sent as part `part` of command `key`, if any (resuming a retried command).
    async fn outbound_part(&self, key: &str, part: u32) -> PortResult<Option<OutboundRecord>>;
    /// Moves the status forward only (statuses arrive out of order); returns the record.
    async fn update_status(
        &self,
        wamid: &str,
        status: DeliveryStatus,
        error: Option<String>,
    ) -> PortResult<Option<OutboundRecord>>;
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboundRecord {
    pub wamid: String,
    pub to: Phone,
    pub complaint: Option<ComplaintId>,
    /// What it was: `ack`, `new_complaint`, `report` …
    pub kind: String,
    pub command_key: String,
    pub part: u32,
    pub status: DeliveryStatus,
    pub error: Option<String>,
    pub at: DateTime<Utc>,
}

#[async_trait]
pub trait Conversations: Send + Sync {
    /// The stored conversation, or a new one (version 0).
    async fn get(&self, phone: &Phone) -> PortResult<Conversation>;
    /// Conditional on `c.version` (0 = must not exist); bumps it.
    async fn put(&self, c: &mut Conversation) -> PortResult<()>;
    /// Takes one send slot to a person under the pair rate (`pacing::take`), atomically across
    /// processes, on a record of its own (so it never races the conversation's version). Err:
    /// how long until a slot is free. `who` is the person's keyed-hash id (`Ports::ids`), not
    /// the number: the pacing record needs a stable id, not the number itself.
    async fn take_send_slot(
        &self,
        who: &str,
        now: DateTime<Utc>,
        rate: crate::pacing::PairRate,
    ) -> PortResult<Result<(), chrono::Duration>>;
}

#[async_trait]
pub trait Directory: Send + Sync {
    async fn person(&self, phone: &Phone) -> PortResult<Option<Person>>;
    async fn officers_of(&self, department: &str) -> PortResult<Vec<Person>>;
    async fn with_role(&self, role: Role) -> PortResult<Vec<Person>>;
}

#[async_trait]
pub trait MediaStore: Send + Sync {
    async fn put(&self, key: &str, bytes: &[u8], content_type: &str, sha256_hex: &str) -> PortResult<()>;
    async fn get(&self, key: &str) -> PortResult<(Vec<u8>, String)>;
}

#[async_trait]
pub trait Queue: Send + Sync {
    async fn send(&self, cmd: &Outbound) -> PortResult<()>;

    /// Sends every command, or fails: an `Err` means some may have gone and some not, and the
    /// caller retries the whole lot (the FIFO dedupe key makes a repeat of one that went a
    /// no-op). Adapters that can send several in one call do (SQS `SendMessageBatch`, ten at a
    /// time; SQLite one transaction); this default sends them one by one.
    async fn send_batch(&self, cmds: &[Outbound]) -> PortResult<()> {
        for cmd in cmds {
            self.send(cmd).await?;
        }
        Ok(())
    }
}

/// Downloaded media: bytes, MIME type, and the sha256 Meta claims for it (hex or base64).
#[derive(Debug, Clone)]
pub struct Download {
    pub bytes: Vec<u8>,
    pub mime_type: String,
    pub sha256: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Try again later (429, 5xx, 130429, 131056, 131000, 131016, 131057): SQS redelivers.
    Retryable { code: Option<i64>, detail: String },
    /// Will never be delivered as it is (131026, 131047 …): record it and tell the control room.
    Permanent { code: Option<i64>, detail: String },
}

impl SendError {
    pub fn code(&self) -> Option<i64> {
        match self {
            SendError::Retryable { code, .. } | SendError::Permanent { code, .. } => *code,
        }
    }
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Retryable { code, detail } => write!(f, "retryable ({code:?}): {detail}"),
            SendError::Permanent { code, detail } => write!(f, "permanent ({code:?}): {detail}"),
        }
    }
}

/// The WhatsApp Cloud API.
#[async_trait]
pub trait WhatsApp: Send + Sync {
    /// Sends one message; returns its wamid. Media must be `MediaSource::Uploaded`.
    async fn send(
        &self,
        to: &Phone,
        msg: &OutboundMessage,
        reply_to: Option<&str>,
    ) -> Result<String, SendError>;
    /// Looks the media id up, then downloads it with the bearer token.
    async fn download_media(&self, media_id: &str) -> Result<Download, SendError>;
    async fn upload_media(
        &self,
        bytes: Vec<u8>,
        mime_type: &str,
        filename: &str,
    ) -> Result<String, SendError>;
    async fn mark_read(&self, wamid: &str) -> Result<(), SendError>;
}

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Tunables that are not district policy.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The burst settle window.
    pub settle_seconds: u32,
    /// Average gap between two messages to the same person (Meta's pair rate: 6 s).
    pub pair_interval: std::time::Duration,
    /// How many may go back to back before the gap applies (Meta allows 45; we keep far below).
    pub pair_burst: u32,
}

impl Settings {
    pub fn pair_rate(&self) -> crate::pacing::PairRate {
        crate::pacing::PairRate::new(self.pair_interval, self.pair_burst)
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            settle_seconds: 120,
            pair_interval: std::time::Duration::from_secs(6),
            pair_burst: 5,
        }
    }
}

/// Everything a function handler needs, built once per process (outside the handler).
#[derive(Clone)]
pub struct Ports {
    pub config: Arc<DistrictConfig>,
    pub settings: Settings,
    pub complaints: Arc<dyn ComplaintStore>,
    pub messages: Arc<dyn MessageLog>,
    pub conversations: Arc<dyn Conversations>,
    pub directory: Arc<dyn Directory>,
    pub media: Arc<dyn MediaStore>,
    pub queue: Arc<dyn Queue>,
    pub whatsapp: Arc<dyn WhatsApp>,
    pub clock: Arc<dyn Clock>,
    /// Stable ids for people and messages in keys, marks, object names and logs: never the
    /// number or the wamid itself (a wamid holds the number).
    pub ids: crate::pseudonym::KeyedHash,
}
