//! HTTP: the webhook (GET handshake, POST notifications), /healthz, and the simulator's routes.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use shikayat_core::ports::Queue;
use shikayat_graph_sim::GraphSim;
use shikayat_webhook::{handshake, receive, Reply, WebhookConfig};

#[derive(Clone)]
struct AppState {
    webhook: Arc<WebhookConfig>,
    queue: Arc<dyn Queue>,
}

pub fn router(webhook: WebhookConfig, queue: Arc<dyn Queue>, sim: Option<&GraphSim>) -> Router {
    let state = AppState {
        webhook: Arc::new(webhook),
        queue,
    };
    let app = Router::new()
        .route("/webhook", get(verify).post(notify))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state);
    match sim {
        Some(sim) => app.merge(sim.router()),
        None => app,
    }
}

fn respond(r: Reply) -> impl IntoResponse {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [("content-type", "text/plain; charset=utf-8")], r.body)
}

async fn verify(State(s): State<AppState>, Query(q): Query<HashMap<String, String>>) -> impl IntoResponse {
    let get = |k: &str| q.get(k).map(String::as_str);
    respond(handshake(
        &s.webhook,
        get("hub.mode"),
        get("hub.verify_token"),
        get("hub.challenge"),
    ))
}

async fn notify(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let sig = headers.get("x-hub-signature-256").and_then(|v| v.to_str().ok());
    respond(receive(&s.webhook, s.queue.as_ref(), sig, &body).await)
}
