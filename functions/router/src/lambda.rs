//! The router's Lambda handler: one batch from the inbound FIFO queue, in order, stopping at the
//! first failure (DESIGN §9).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use shikayat_adapters::lambda::sqs_batch;
use shikayat_core::command::Command;
use shikayat_core::ports::Ports;

pub async fn handle_batch(p: &Ports, event: SqsEvent) -> SqsBatchResponse {
    sqs_batch(event, true, |env| {
        let p = p.clone();
        async move {
            match env.command {
                Command::Inbound { event } => crate::handle(&p, &event).await.map_err(|e| e.to_string()),
                other => Err(format!("{} on the inbound queue", other.kind())),
            }
        }
    })
    .await
}
