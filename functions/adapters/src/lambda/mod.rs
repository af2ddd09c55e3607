//! Glue for the Lambda entry points: SQS batches with partial failures, JSON logs for
//! CloudWatch, and the ports built once per container from the environment.
//!
//! DESIGN §9: a panic or an `Err` from an SQS handler makes Lambda retry the whole batch, so
//! every record is handled on its own task and reported on its own; on a FIFO queue the first
//! failure stops the batch, and it and every later record are reported, so they come back in
//! order.

use std::future::Future;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use shikayat_core::command::Envelope;
use shikayat_core::ids::mask_numbers;
use tracing::Instrument;

mod init;

pub use init::{
    ports_from_env, sdk_config_from_env, webhook_from_env, LambdaInitError, WebhookParts, WhatsAppEnv,
};

/// Runs `handle` for each record of an SQS batch and reports the records that failed.
///
/// - A body that is not a command envelope fails that record (after `maxReceiveCount` tries it
///   lands in the DLQ, where an operator can read it); it never fails the batch.
/// - Each record runs on its own task, so a panic in the handler fails only that record.
/// - `fifo`: records run one after another; at the first failure that record and every later
///   one are reported, so SQS hands them back in order.
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
        let mut records = event.records.into_iter();
        while let Some(record) = records.next() {
            let id = message_id(&record);
            let ok = match start(&record, &handle) {
                Some(task) => task.finish().await,
                None => false,
            };
            if !ok {
                failed.push(id);
                let later: Vec<String> = records.by_ref().map(|r| message_id(&r)).collect();
                if !later.is_empty() {
                    tracing::warn!(
                        count = later.len(),
                        "later records of the FIFO batch left for redelivery, in order"
                    );
                }
                failed.extend(later);
                break;
            }
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
            tracing::error!(
                message_id = id,
                error = %mask_numbers(&e.to_string()),
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
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .with_current_span(true)
        .with_span_list(false)
        .with_writer(std::io::stdout)
        .try_init();
}
