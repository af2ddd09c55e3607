//! Graph API (Meta WhatsApp Cloud API) simulator.
//!
//! Serves the Graph routes the app calls (`/messages`, media upload/lookup/download) with Meta's
//! rules (bearer token, 24-hour window, validation limits), posts signed Meta-shaped webhooks
//! acting as WhatsApp users, and offers a browser sandbox page for chatting as a citizen or officer.
//! Used by the local runner as its built-in "Meta" and by end-to-end tests.

mod config;
mod escape;
mod faults;
mod graph;
mod manage;
mod sandbox;
mod state;
mod template_send;
mod templates;
mod types;
mod validate;
mod webhook;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_templates;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use chrono::Utc;
use tokio::sync::Notify;

pub use config::{Persona, SimConfig};
pub use faults::{FaultCounts, FaultPlan, FaultedRequest};
pub use templates::{load_templates, TemplateLoadError};
pub use types::{InboundMedia, MediaRequest, RejectedSend, SentMessage, SimError};

use state::{normalize_user, Inner, State};

/// Uploads and user media go up to Meta's 100 MB document cap.
const BODY_LIMIT: usize = 110 * 1024 * 1024;

#[derive(Clone)]
pub struct GraphSim {
    pub(crate) inner: Arc<Inner>,
}

impl GraphSim {
    pub fn new(cfg: SimConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_default();
        let mut state = State {
            webhook_url: cfg.webhook_url.clone(),
            ..State::default()
        };
        for def in &cfg.templates {
            // `load_templates` has checked them; a hand-built config that Meta would refuse is
            // left out rather than approved.
            if let Err(e) = state.templates.add(def) {
                tracing::warn!(template = %def.get("name").unwrap_or(&serde_json::Value::Null), error = ?e.details, "graph-sim skipped a template");
            }
        }
        Self {
            inner: Arc::new(Inner {
                cfg,
                state: Mutex::new(state),
                sent_notify: Notify::new(),
                http,
            }),
        }
    }

    pub fn config(&self) -> &SimConfig {
        &self.inner.cfg
    }

    /// All Graph and sandbox routes, state applied.
    pub fn router(&self) -> Router {
        graph::routes()
            .merge(manage::routes())
            .merge(sandbox::routes())
            .fallback(graph::fallback)
            .layer(DefaultBodyLimit::max(BODY_LIMIT))
            .with_state(self.clone())
    }

    /// Binds `addr` (port 0 allowed), serves the router on a spawned task and returns the bound
    /// address.
    pub async fn serve(cfg: SimConfig, addr: SocketAddr) -> std::io::Result<(GraphSim, SocketAddr)> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let sim = GraphSim::new(cfg);
        // An unspecified bind address is not something a client can dial; use loopback in URLs.
        let reachable = if local.ip().is_unspecified() {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), local.port())
        } else {
            local
        };
        sim.set_base_url(format!("http://{reachable}"));
        let app = sim.router();
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "graph-sim server stopped");
            }
        });
        Ok((sim, local))
    }

    pub fn set_webhook_url(&self, url: impl Into<String>) {
        self.inner.lock().webhook_url = Some(url.into());
    }

    /// The simulator's own `http://host:port`, used for absolute media URLs in webhooks. `serve`
    /// sets it; set it yourself when mounting `router()` on your own listener.
    pub fn set_base_url(&self, url: impl Into<String>) {
        let url: String = url.into();
        self.inner.lock().base_url = Some(url.trim_end_matches('/').to_string());
    }

    /// `http://addr/graph` when started by `serve` (or after `set_base_url`).
    pub fn graph_base_url(&self) -> Option<String> {
        self.inner.lock().base_url.as_ref().map(|b| format!("{b}/graph"))
    }

    fn key(&self, user: &str) -> String {
        let normalized = normalize_user(user, self.inner.cfg.country_code());
        self.inner.lock().resolve(&normalized)
    }

    /// Accepted sends, in order.
    pub fn sent(&self) -> Vec<SentMessage> {
        self.inner.lock().sent.iter().map(|(_, m)| m.clone()).collect()
    }

    /// Accepted sends to one user; `to` may be written `+91 98123-45678`, `919812345678`, or a BSUID.
    pub fn sent_to(&self, to: &str) -> Vec<SentMessage> {
        let key = self.key(to);
        self.inner
            .lock()
            .sent
            .iter()
            .filter(|(_, m)| m.to == key)
            .map(|(_, m)| m.clone())
            .collect()
    }

    /// Sends refused with a Graph error (131047, 131026, 131056, 190, 100, injected…).
    pub fn rejected(&self) -> Vec<RejectedSend> {
        self.inner.lock().rejected.clone()
    }

    /// Wamids the business marked as read.
    pub fn marked_read(&self) -> Vec<String> {
        self.inner.lock().read_marks.clone()
    }

    /// The first message to `to` (already sent or arriving within `timeout`) matching `pred`.
    pub async fn wait_for<F: Fn(&SentMessage) -> bool>(
        &self,
        to: &str,
        pred: F,
        timeout: Duration,
    ) -> Result<SentMessage, SimError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Register interest before checking so a send between check and wait is not missed.
            let notified = self.inner.sent_notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let received = self.sent_to(to);
            if let Some(m) = received.iter().find(|m| pred(m)) {
                return Ok(m.clone());
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(SimError::Timeout {
                    to: to.to_string(),
                    received: received.iter().map(summary).collect(),
                });
            }
        }
    }

    /// Sends to this user fail with 131026 (HTTP 400).
    pub fn mark_unreachable(&self, phone: &str) {
        let key = self.key(phone);
        self.inner.lock().unreachable.insert(key);
    }

    /// The next `n` sends to `to` fail with `http_status` and Graph error `code` (e.g. 500/131000).
    pub fn fail_next_sends(&self, to: &str, n: usize, http_status: u16, code: i64) {
        let key = self.key(to);
        let mut st = self.inner.lock();
        let queue = st.failures.entry(key).or_default();
        queue.extend(std::iter::repeat_n((http_status, code), n));
    }

    /// From now on, fail a share of `/messages` posts, media uploads, lookups and downloads as
    /// `plan` says (`FaultPlan::none()` stops). Faulted requests are not recorded as sent or as
    /// media requests; `faults_injected` counts them.
    pub fn set_faults(&self, plan: FaultPlan) {
        self.inner.lock().faults.set(plan);
    }

    /// Requests failed by the fault plans so far, by kind.
    pub fn faults_injected(&self) -> FaultCounts {
        self.inner.lock().faults.counts
    }

    /// Requests failed by the fault plans so far, in order.
    pub fn faulted(&self) -> Vec<FaultedRequest> {
        self.inner.lock().faults.log.clone()
    }

    /// As if the user's last message was more than 24 hours ago.
    pub fn expire_window(&self, phone: &str) {
        let key = self.key(phone);
        let long_ago = Utc::now() - chrono::Duration::hours(25);
        self.inner.lock().last_inbound.insert(key, long_ago);
    }

    pub fn media_requests(&self) -> Vec<MediaRequest> {
        self.inner.lock().media_requests.clone()
    }
}

/// One line describing a sent message, for timeout errors.
fn summary(m: &SentMessage) -> String {
    let text: String = m.text().replace('\n', " | ").chars().take(120).collect();
    match m.template_name() {
        Some(name) => format!("template {name}: {text}"),
        None => format!("{}: {text}", m.kind),
    }
}
