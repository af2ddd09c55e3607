//! The escalator's Lambda handler: an EventBridge schedule runs one sweep and returns its counts
//! (visible in the invocation result and the log). Only a real failure is an `Err`, which
//! Lambda records as a failed invocation (and the alarm on errors sees it).

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use serde::Serialize;
use shikayat_core::ports::Ports;

use crate::EscalatorError;

#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct SweepReport {
    pub examined: usize,
    pub reminded: usize,
    pub escalated: usize,
    pub closed: usize,
    pub digests: usize,
}

pub async fn handle(p: &Ports, event: EventBridgeEvent) -> Result<SweepReport, EscalatorError> {
    let s = crate::sweep(p).await?;
    tracing::info!(
        schedule = event.resources.as_ref().and_then(|r| r.first()).map(String::as_str).unwrap_or(""),
        fired_at = ?event.time,
        examined = s.examined,
        reminded = s.reminded,
        escalated = s.escalated,
        closed = s.closed,
        digests = s.digests,
        "escalator sweep"
    );
    Ok(SweepReport {
        examined: s.examined,
        reminded: s.reminded,
        escalated: s.escalated,
        closed: s.closed,
        digests: s.digests,
    })
}
