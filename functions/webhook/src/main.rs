//! The webhook Lambda (Function URL or HTTP API, payload format 2.0). Secrets and the inbound
//! queue are set up once per container; each invocation is `lambda::handle_value`.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use shikayat_adapters::lambda::{init_tracing, webhook_from_env};
use shikayat_webhook::WebhookConfig;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let parts = webhook_from_env().await?;
    let cfg = WebhookConfig {
        app_secret: parts.app_secret,
        verify_token: parts.verify_token,
    };
    let (cfg, queue) = (&cfg, parts.queue.as_ref());
    lambda_runtime::run(service_fn(move |e: LambdaEvent<serde_json::Value>| async move {
        Ok::<_, Error>(shikayat_webhook::lambda::handle_value(cfg, queue, e.payload).await)
    }))
    .await
}
