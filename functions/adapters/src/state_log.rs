//! One INFO line per change to the register: every timeline entry a store write commits, logged
//! once it is committed, under the `shikayat_state` target. The functions log at WARN on Lambda
//! (the template's `LoggingConfig`) with this target let through, so the logs hold one short
//! line per state change and the warnings, and the dashboard counts complaints from these lines
//! (CloudWatch Logs Insights) rather than from custom metrics.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shikayat_core::complaint::{Complaint, TimelineEntry};
use shikayat_core::ids::{ComplaintId, Phone};
use shikayat_core::ports::{ComplaintStore, PortResult};

/// The tracing target of the state-change lines.
pub const TARGET: &str = "shikayat_state";

/// A `ComplaintStore` that logs each committed timeline entry: the complaint id, the event and
/// the status it moved between. Never a number, a name or free text (the entry's detail).
pub struct StateLog {
    inner: Arc<dyn ComplaintStore>,
}

impl StateLog {
    pub fn wrap(inner: Arc<dyn ComplaintStore>) -> Arc<dyn ComplaintStore> {
        Arc::new(Self { inner })
    }
}

fn log(c: &Complaint, timeline: &[TimelineEntry]) {
    for e in timeline {
        tracing::info!(
            target: TARGET,
            complaint = %c.id,
            event = %e.event,
            from = e.from.as_str(),
            to = e.to.as_str(),
            department = c.department.as_deref().unwrap_or(""),
            "state change"
        );
    }
}

#[async_trait]
impl ComplaintStore for StateLog {
    async fn next_sequence(&self, district: &str, year: i32) -> PortResult<u64> {
        self.inner.next_sequence(district, year).await
    }
    async fn create(&self, c: &mut Complaint, timeline: &[TimelineEntry]) -> PortResult<()> {
        self.inner.create(c, timeline).await?;
        log(c, timeline);
        Ok(())
    }
    async fn get(&self, id: &ComplaintId) -> PortResult<Option<Complaint>> {
        self.inner.get(id).await
    }
    async fn update(&self, c: &mut Complaint, timeline: &[TimelineEntry]) -> PortResult<()> {
        self.inner.update(c, timeline).await?;
        log(c, timeline);
        Ok(())
    }
    async fn clear_outbox(&self, id: &ComplaintId, version: u64) -> PortResult<()> {
        self.inner.clear_outbox(id, version).await
    }
    async fn timeline(&self, id: &ComplaintId) -> PortResult<Vec<TimelineEntry>> {
        self.inner.timeline(id).await
    }
    async fn by_complainant(&self, who: &Phone) -> PortResult<Vec<Complaint>> {
        self.inner.by_complainant(who).await
    }
    async fn open_by_officer(&self, officer: &Phone) -> PortResult<Vec<Complaint>> {
        self.inner.open_by_officer(officer).await
    }
    async fn by_department(
        &self,
        department: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> PortResult<Vec<Complaint>> {
        self.inner.by_department(department, from, to).await
    }
    async fn open_by_department(&self, department: &str) -> PortResult<Vec<Complaint>> {
        self.inner.open_by_department(department).await
    }
    async fn closed_by_department(
        &self,
        department: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> PortResult<Vec<Complaint>> {
        self.inner.closed_by_department(department, from, to).await
    }
    async fn unassigned(&self) -> PortResult<Vec<Complaint>> {
        self.inner.unassigned().await
    }
    async fn open_due_before(&self, before: DateTime<Utc>, limit: usize) -> PortResult<Vec<Complaint>> {
        self.inner.open_due_before(before, limit).await
    }
    async fn open_action_due(&self, before: DateTime<Utc>, limit: usize) -> PortResult<Vec<Complaint>> {
        self.inner.open_action_due(before, limit).await
    }
}
