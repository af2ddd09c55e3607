//! The officer-relay Lambda: SQS batches from the relay queue, with partial batch failures. The ports are built
//! once per container; each invocation is `lambda::handle_batch`.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use shikayat_adapters::lambda::{init_tracing, ports_from_env};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let ports = ports_from_env().await?;
    let ports = &ports;
    lambda_runtime::run(service_fn(move |e: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(shikayat_officer_relay::lambda::handle_batch(ports, e.payload).await)
    }))
    .await
}
