//! The officer-relay's Lambda handler: one batch from the relay queue, records concurrently,
//! each failure reported on its own.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use shikayat_adapters::lambda::sqs_batch;
use shikayat_core::ports::Ports;

pub async fn handle_batch(p: &Ports, event: SqsEvent) -> SqsBatchResponse {
    sqs_batch(event, false, |env| {
        let p = p.clone();
        async move { crate::handle(&p, &env).await.map_err(|e| e.to_string()) }
    })
    .await
}
