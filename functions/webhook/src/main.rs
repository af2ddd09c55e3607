//! The webhook Lambda (Function URL or HTTP API, payload format 2.0). Secrets and the inbound
//! queue are set up once per container; each invocation is `lambda::handle_value`. A placeholder
//! or short secret is an init error: the container never takes traffic on it.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use shikayat_adapters::lambda::{init_tracing, webhook_from_env};
use shikayat_webhook::WebhookConfig;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let parts = webhook_from_env().await?;
    let s = parts.secrets;
    let cfg = WebhookConfig {
        app_secret: s.app_secret,
        verify_token: s.verify_token,
        phone_number_id: s.phone_number_id,
        ids: s.ids,
    };
    let (cfg, queue) = (&cfg, parts.queue.as_ref());
    lambda_runtime::run(service_fn(move |e: LambdaEvent<serde_json::Value>| async move {
        Ok::<_, Error>(shikayat_webhook::lambda::handle_value(cfg, queue, e.payload).await)
    }))
    .await
}
