//! Glue for the Lambda entry points: SQS batches with partial failures, JSON logs for
//! CloudWatch, and the ports built once per container from the environment.
//!
//! DESIGN §9: a panic or an `Err` from an SQS handler makes Lambda retry the whole batch, so
//! every record is handled on its own task and reported on its own; on a FIFO queue a failure
//! holds back the later records of its own message group (one sender), which are reported with
//! it so they come back in order; other senders' records still run.

use std::collections::HashSet;
use std::future::Future;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use shikayat_core::command::Envelope;
use shikayat_core::ids::mask_numbers;
use tracing::Instrument;

mod init;

pub use init::{
    ports_from_env, sdk_config_from_env, webhook_from_env, LambdaInitError, WebhookParts, WebhookSecrets,
    WhatsAppEnv,
};

/// Runs `handle` for each record of an SQS batch and reports the records that failed.
///
/// - A body that is not a command envelope fails that record (after `maxReceiveCount` tries it
///   lands in the DLQ, where an operator can read it); it never fails the batch.
/// - Each record runs on its own task, so a panic in the handler fails only that record.
/// - `fifo`: records run one after another, in batch order. A failed record is reported with
///   every later record of its message group (`MessageGroupId`, the sender), which do not run,
///   so SQS hands that group back in order; a poisoned record never holds up other senders. A
///   record without a group id (never the case on a FIFO queue) could belong to any group: one
///   that fails holds back everything after it, and one after any failure is held back.
/// - Standard queues: records run concurrently. They are independent commands to different
///   people, idempotent on their keys, and the pacer may sleep seconds before a second message
///   to one person; one after another, that wait would hold up the whole batch (and its
///   timeout). The local runner's consumers do the same.
pub async fn sqs_batch<F, Fut>(event: SqsEvent, fifo: bool, handle: F) -> SqsBatchResponse
where
    F: Fn(Envelope) -> Fut,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let mut failed: Vec<String> = Vec::new();
    if fifo {
        // Groups with a failed record in this batch (their later records must wait for it).
        let mut failed_groups: HashSet<String> = HashSet::new();
        let mut failed_ungrouped = false;
        let mut held = 0usize;
        for record in &event.records {
            let id = message_id(record);
            let group = record.attributes.get("MessageGroupId").filter(|g| !g.is_empty());
            let blocked = failed_ungrouped
                || match group {
                    Some(g) => failed_groups.contains(g),
                    None => !failed_groups.is_empty(),
                };
            if blocked {
                held += 1;
                failed.push(id);
                continue;
            }
            let ok = match start(record, &handle) {
                Some(task) => task.finish().await,
                None => false,
            };
            if !ok {
                failed.push(id);
                match group {
                    Some(g) => {
                        failed_groups.insert(g.clone());
                    }
                    None => failed_ungrouped = true,
                }
            }
        }
        if held > 0 {
            // Counts only: a group id is a sender's phone number.
            tracing::warn!(
                held,
                groups = failed_groups.len(),
                "later records of failed FIFO groups left for redelivery, in order"
            );
        }
    } else {
        let started: Vec<(String, Option<Task>)> = event
            .records
            .iter()
            .map(|record| (message_id(record), start(record, &handle)))
            .collect();
        for (id, task) in started {
            let ok = match task {
                Some(task) => task.finish().await,
                None => false,
            };
            if !ok {
                failed.push(id);
            }
        }
    }
    let mut response = SqsBatchResponse::default();
    for id in failed {
        response.add_failure(id);
    }
    response
}

/// The id Lambda expects back for a failed record. A record without one cannot be named; an
/// empty identifier makes Lambda retry the whole batch, the safe side.
fn message_id(record: &SqsMessage) -> String {
    record.message_id.clone().unwrap_or_default()
}

/// One record's handler, running on its own task inside its span.
struct Task {
    span: tracing::Span,
    handle: tokio::task::JoinHandle<Result<(), String>>,
}

impl Task {
    /// True when the handler succeeded; failures and panics are logged masked.
    async fn finish(self) -> bool {
        let result = self.handle.await;
        let _enter = self.span.enter();
        match result {
            Ok(Ok(())) => {
                tracing::info!("command done");
                true
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %mask_numbers(&e), "command failed; SQS will redeliver it");
                false
            }
            Err(e) if e.is_panic() => {
                let payload = e.into_panic();
                let what = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "non-text panic".into());
                tracing::error!(panic = %mask_numbers(&what), "command panicked; SQS will redeliver it");
                false
            }
            Err(e) => {
                tracing::error!(error = %e, "command task was cancelled");
                false
            }
        }
    }
}

/// Parses the record and spawns its handler; None (logged) when the body is not a command.
fn start<F, Fut>(record: &SqsMessage, handle: &F) -> Option<Task>
where
    F: Fn(Envelope) -> Fut,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let id = record.message_id.as_deref().unwrap_or("");
    let env = match Envelope::from_json(record.body.as_deref().unwrap_or("")) {
        Ok(env) => env,
        Err(e) => {
            // serde quotes the offending value whole (any length): cut short.
            let error: String = mask_numbers(&e.to_string()).chars().take(300).collect();
            tracing::error!(
                message_id = id,
                %error,
                "unreadable command; it will go to the dead-letter queue"
            );
            return None;
        }
    };
    let complaint = env.command.complaint().map(|c| c.to_string()).unwrap_or_default();
    // Keys and error texts can hold phone numbers: they are logged masked.
    let span = tracing::info_span!(
        "command",
        kind = env.command.kind(),
        key = %mask_numbers(&env.key),
        complaint = %complaint,
        message_id = id,
    );
    // The future is built outside the task so a panic while building it is still this
    // record's failure, not the batch's.
    let fut = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handle(env)));
    let handle = match fut {
        Ok(fut) => tokio::spawn(fut.instrument(span.clone())),
        Err(_) => tokio::spawn(async { Err("handler panicked before starting".to_string()) }),
    };
    Some(Task { span, handle })
}

/// JSON logs on stdout for CloudWatch, filtered by `RUST_LOG` (default `info`). No ANSI colours
/// and no timestamp of our own: CloudWatch stamps every line. Safe to call twice.
pub fn init_tracing() {
    let filter = log_filter(
        std::env::var("RUST_LOG").ok().as_deref(),
        std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref(),
    );
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .with_current_span(true)
        .with_span_list(false)
        .with_writer(std::io::stdout)
        .try_init();
}

/// The log filter: `RUST_LOG` when set (a debugging session's own choice, taken as it is);
/// else the level of the function's `LoggingConfig` (`AWS_LAMBDA_LOG_LEVEL`: WARN in the
/// template), with the state-change lines (`state_log::TARGET`) always let through at INFO,
/// so the logs stay one line per change plus what went wrong; else INFO.
fn log_filter(rust_log: Option<&str>, lambda_level: Option<&str>) -> String {
    if let Some(f) = rust_log.map(str::trim).filter(|f| !f.is_empty()) {
        return f.to_string();
    }
    let level = match lambda_level.map(|l| l.trim().to_ascii_lowercase()).as_deref() {
        Some("trace") => "trace",
        Some("debug") => "debug",
        Some("warn") => "warn",
        // FATAL has no tracing level of its own.
        Some("error") | Some("fatal") => "error",
        _ => "info",
    };
    match level {
        "trace" | "debug" | "info" => level.to_string(),
        _ => format!("{level},{}=info", crate::state_log::TARGET),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A record of the vendored inbound sample, with its own message id, key and group.
    fn record(id: &str, key: &str, group: Option<&str>) -> SqsMessage {
        let sample: SqsEvent =
            serde_json::from_str(include_str!("../../../../events/sqs/inbound-batch.json")).expect("sample");
        let mut r = sample.records.into_iter().next().expect("a record");
        r.message_id = Some(id.to_string());
        let mut env = Envelope::from_json(r.body.as_deref().unwrap_or_default()).expect("an envelope");
        env.key = key.to_string();
        r.body = Some(env.to_json());
        r.attributes.remove("MessageGroupId");
        if let Some(g) = group {
            r.attributes.insert("MessageGroupId".into(), g.into());
        }
        r
    }

    fn batch(records: Vec<SqsMessage>) -> SqsEvent {
        let mut e = SqsEvent::default();
        e.records = records;
        e
    }

    fn failures(r: &SqsBatchResponse) -> Vec<String> {
        r.batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect()
    }

    /// Runs a FIFO batch where the keys in `bad` fail; returns (reported, keys run in order).
    async fn run_fifo(event: SqsEvent, bad: &'static [&'static str]) -> (Vec<String>, Vec<String>) {
        let ran = Arc::new(Mutex::new(Vec::new()));
        let log = ran.clone();
        let r = sqs_batch(event, true, move |env: Envelope| {
            let log = log.clone();
            async move {
                log.lock().expect("log").push(env.key.clone());
                if bad.contains(&env.key.as_str()) {
                    Err(format!("{} refused", env.key))
                } else {
                    Ok(())
                }
            }
        })
        .await;
        let ran = ran.lock().expect("log").clone();
        (failures(&r), ran)
    }

    #[tokio::test]
    async fn a_fifo_failure_holds_back_only_its_own_group() {
        let event = batch(vec![
            record("a1", "k.a1", Some("A")),
            record("b1", "k.b1", Some("B")),
            record("a2", "k.a2", Some("A")),
            record("c1", "k.c1", Some("C")),
            record("b2", "k.b2", Some("B")),
            record("a3", "k.a3", Some("A")),
            record("c2", "k.c2", Some("C")),
            record("b3", "k.b3", Some("B")),
        ]);
        let (failed, ran) = run_fifo(event, &["k.a2", "k.c2"]).await;
        assert_eq!(failed, vec!["a2", "a3", "c2"]);
        // Group A stops at a2; B runs all three in order; C runs until its own failure.
        assert_eq!(ran, vec!["k.a1", "k.b1", "k.a2", "k.c1", "k.b2", "k.c2", "k.b3"]);
    }

    #[tokio::test]
    async fn an_unreadable_fifo_record_holds_back_its_group() {
        let mut poisoned = record("a1", "k.a1", Some("A"));
        poisoned.body = Some("{\"v\":1,\"key\":".into());
        let event = batch(vec![
            poisoned,
            record("b1", "k.b1", Some("B")),
            record("a2", "k.a2", Some("A")),
        ]);
        let (failed, ran) = run_fifo(event, &[]).await;
        assert_eq!(failed, vec!["a1", "a2"]);
        assert_eq!(ran, vec!["k.b1"]);
    }

    #[tokio::test]
    async fn without_group_ids_a_fifo_failure_holds_back_the_rest() {
        let event = batch(vec![
            record("x1", "k.x1", None),
            record("a1", "k.a1", Some("A")),
            record("x2", "k.x2", None),
            record("b1", "k.b1", Some("B")),
        ]);
        let (failed, ran) = run_fifo(event, &["k.a1"]).await;
        // x2 could be A's: it waits; B is known to be another sender.
        assert_eq!(failed, vec!["a1", "x2"]);
        assert_eq!(ran, vec!["k.x1", "k.a1", "k.b1"]);

        let event = batch(vec![
            record("x1", "k.x1", None),
            record("a1", "k.a1", Some("A")),
            record("b1", "k.b1", Some("B")),
        ]);
        let (failed, ran) = run_fifo(event, &["k.x1"]).await;
        assert_eq!(failed, vec!["x1", "a1", "b1"]);
        assert_eq!(ran, vec!["k.x1"]);
    }

    #[tokio::test]
    async fn a_panic_in_one_fifo_group_spares_the_others() {
        let event = batch(vec![
            record("a1", "k.a1", Some("A")),
            record("b1", "k.b1", Some("B")),
            record("a2", "k.a2", Some("A")),
        ]);
        let r = sqs_batch(event, true, |env: Envelope| async move {
            if env.key == "k.a1" {
                panic!("boom");
            }
            Ok::<(), String>(())
        })
        .await;
        assert_eq!(failures(&r), vec!["a1", "a2"]);
    }

    #[test]
    fn the_log_filter_keeps_state_changes_at_warn() {
        assert_eq!(log_filter(None, Some("WARN")), "warn,shikayat_state=info");
        assert_eq!(log_filter(None, Some("FATAL")), "error,shikayat_state=info");
        assert_eq!(log_filter(None, Some("DEBUG")), "debug");
        assert_eq!(log_filter(None, None), "info");
        assert_eq!(
            log_filter(Some(" shikayat=trace "), Some("WARN")),
            "shikayat=trace"
        );
        assert_eq!(log_filter(Some(""), Some("WARN")), "warn,shikayat_state=info");
    }
}
