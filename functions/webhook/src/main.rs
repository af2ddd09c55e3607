//! The webhook Lambda (Function URL or HTTP API, payload format 2.0). Secrets and the inbound
//! queue are set up once per container; each invocation is `lambda::handle_event`. A placeholder
//! or short secret is an init error: the container never takes traffic on it.
//!
//! One thread: a Lambda container handles one invocation at a time, and each is a signature
//! check, a parse and one `SendMessageBatch`. A current-thread runtime starts no worker threads
//! at init and hands nothing between threads per request; the SDK's clients (hyper, rustls,
//! its timers and sleeps) and the runtime's client run on it as on a multi-threaded one.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use shikayat_adapters::lambda::{init_tracing, webhook_from_env};
use shikayat_webhook::lambda::Event;
use shikayat_webhook::WebhookConfig;

#[tokio::main(flavor = "current_thread")]
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
    // `Event` reads any JSON: an event that is not an HTTP request reaches the handler (a 400),
    // never the runtime's deserialisation error.
    lambda_runtime::run(service_fn(move |e: LambdaEvent<Event>| async move {
        Ok::<_, Error>(shikayat_webhook::lambda::handle_event(cfg, queue, e.payload).await)
    }))
    .await
}
