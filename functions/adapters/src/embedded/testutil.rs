//! Shared test fixtures for the embedded adapters.

use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use shikayat_core::complaint::{Actor, Complaint, Status, TimelineEntry};
use shikayat_core::ids::{ComplaintId, Phone};
use shikayat_core::ports::Clock;
use tempfile::TempDir;

use super::{Db, SqliteStore};

/// A fresh database in a temporary folder (kept alive by the returned guard).
pub fn db() -> (TempDir, Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(dir.path()).expect("open db");
    (dir, db)
}

pub fn store() -> (TempDir, SqliteStore) {
    let (dir, db) = db();
    (dir, SqliteStore::new(db))
}

/// 2026-03-01T00:00:00Z plus `secs`.
pub fn at(secs: i64) -> DateTime<Utc> {
    let base = DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z")
        .expect("base time")
        .with_timezone(&Utc);
    base + Duration::seconds(secs)
}

pub fn complaint(seq: u64, complainant: &str, created: DateTime<Utc>) -> Complaint {
    Complaint::new(
        ComplaintId::new("AMT", 2026, seq),
        Phone::new(complainant),
        None,
        created,
    )
}

pub fn entry(when: DateTime<Utc>, event: &str) -> TimelineEntry {
    TimelineEntry {
        at: when,
        actor: Actor::System,
        event: event.into(),
        from: Status::Registered,
        to: Status::Registered,
        detail: String::new(),
    }
}

/// A clock the test moves by hand.
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self(Mutex::new(start))
    }

    pub fn advance(&self, by: std::time::Duration) {
        let mut now = self.0.lock().expect("clock");
        *now += Duration::from_std(by).expect("duration");
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock")
    }
}
