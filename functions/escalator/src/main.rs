//! The escalator Lambda: an EventBridge schedule runs one sweep and returns its counts. The
//! ports are built once per container; each invocation is `lambda::handle`.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use shikayat_adapters::lambda::{init_tracing, ports_from_env};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let ports = ports_from_env().await?;
    let ports = &ports;
    lambda_runtime::run(service_fn(move |e: LambdaEvent<EventBridgeEvent>| async move {
        shikayat_escalator::lambda::handle(ports, e.payload)
            .await
            .map_err(Error::from)
    }))
    .await
}
