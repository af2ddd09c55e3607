//! The all-in-one runner: the webhook on an HTTP port, the router, officer-relay and notifier
//! consumers as tasks, and the escalator on a timer — on the embedded adapters. With no WhatsApp
//! credentials it also serves the Graph API simulator and the sandbox page.

mod backend;
mod consumers;
mod durable;
mod http;
mod idkey;
mod settings;

use std::sync::Arc;

use anyhow::Context;
use shikayat_adapters::whatsapp::{CloudApi, CloudApiConfig};
use shikayat_core::config::DistrictConfig;
use shikayat_core::ports::{Ports, Settings, SystemClock};
use shikayat_graph_sim::{load_templates, GraphSim, Persona, SimConfig};
use shikayat_webhook::WebhookConfig;
use tokio::sync::watch;

pub use settings::{BackendKind, LocalSettings, WhatsAppSettings};

pub async fn run(s: LocalSettings) -> anyhow::Result<()> {
    s.whatsapp
        .check()
        .context("refusing to start on a placeholder or short secret")?;
    let ids = idkey::load(s.id_key.as_deref(), &s.data_dir)?;
    let text = std::fs::read_to_string(&s.district_config)
        .with_context(|| format!("reading district config {}", s.district_config.display()))?;
    let config = Arc::new(
        DistrictConfig::from_toml(&text)
            .map_err(|e| anyhow::anyhow!("{}: {e}", s.district_config.display()))?,
    );
    let backend = match s.backend {
        BackendKind::Embedded => backend::embedded(&s, &config).await?,
        BackendKind::Aws => backend::aws(&config, &text).await?,
    };

    let listener = tokio::net::TcpListener::bind(s.listen)
        .await
        .with_context(|| format!("binding {}", s.listen))?;
    let addr = listener.local_addr()?;
    let local_base = format!("http://{}", loopback(addr));

    let sim = match &s.whatsapp.base_url {
        Some(_) => None,
        None => {
            // The simulator approves exactly these, as Meta would have: a template the desk
            // sends that is not among them fails with 132001 here as it would in production.
            let templates = load_templates(&s.templates_dir).with_context(|| {
                format!(
                    "loading the WhatsApp templates for the simulator from {} (SHIKAYAT_TEMPLATES_DIR)",
                    s.templates_dir.display()
                )
            })?;
            tracing::info!(count = templates.len(), dir = %s.templates_dir.display(), "simulator templates approved");
            let sim = GraphSim::new(SimConfig {
                templates,
                enforce_window: s.sim_enforce_window,
                ..sim_config(&s.whatsapp, &config, &local_base)
            });
            sim.set_base_url(format!("{local_base}/graph"));
            Some(sim)
        }
    };
    let base_url = s
        .whatsapp
        .base_url
        .clone()
        .unwrap_or_else(|| format!("{local_base}/graph"));
    let whatsapp: Arc<dyn shikayat_core::ports::WhatsApp> = Arc::new(
        CloudApi::new(CloudApiConfig {
            base_url,
            version: s.whatsapp.version.clone(),
            phone_number_id: s.whatsapp.phone_number_id.clone(),
            access_token: s.whatsapp.access_token.clone(),
            timeout: std::time::Duration::from_secs(30),
        })
        .map_err(|e| anyhow::anyhow!("whatsapp client: {e}"))?,
    );
    let whatsapp: Arc<dyn shikayat_core::ports::WhatsApp> = match &backend.db {
        Some(db) => Arc::new(durable::SyncBeforeSend {
            inner: whatsapp,
            db: db.clone(),
        }),
        None => whatsapp,
    };
    let ports = Ports {
        config: config.clone(),
        settings: Settings {
            settle_seconds: s.settle_seconds,
            pair_interval: s.pair_interval,
            pair_burst: s.pair_burst,
        },
        complaints: shikayat_adapters::state_log::StateLog::wrap(backend.complaints.clone()),
        messages: backend.messages.clone(),
        conversations: backend.conversations.clone(),
        directory: backend.directory.clone(),
        media: backend.media.clone(),
        queue: backend.queue.clone(),
        whatsapp,
        clock: Arc::new(SystemClock),
        ids: ids.clone(),
    };
    let webhook = WebhookConfig {
        app_secret: s.whatsapp.app_secret.clone(),
        verify_token: s.whatsapp.verify_token.clone(),
        phone_number_id: s.whatsapp.phone_number_id.clone(),
        ids,
    };

    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = consumers::spawn(
        ports.clone(),
        backend.consumer.clone(),
        s.escalator_interval,
        stop_rx.clone(),
    );
    let app = http::router(webhook, backend.queue.clone(), sim.as_ref());
    tracing::info!(%addr, simulator = sim.is_some(), district = %config.district.code, "shikayat-local listening");
    let mut server_stop = stop_rx.clone();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = server_stop.wait_for(|s| *s).await;
    });
    let server = tokio::spawn(async move { server.await });
    shutdown_signal().await;
    tracing::info!("stopping: finishing the work in hand");
    let _ = stop_tx.send(true);
    while tasks.join_next().await.is_some() {}
    let _ = server.await;
    tracing::info!("stopped");
    Ok(())
}

fn loopback(addr: std::net::SocketAddr) -> std::net::SocketAddr {
    if addr.ip().is_unspecified() {
        std::net::SocketAddr::from(([127, 0, 0, 1], addr.port()))
    } else {
        addr
    }
}

fn sim_config(w: &WhatsAppSettings, cfg: &DistrictConfig, local_base: &str) -> SimConfig {
    let mut personas = vec![
        Persona {
            phone: "919812345678".into(),
            name: "सुनीता देवी".into(),
            label: "नागरिक / Citizen — Sunita (demo)".into(),
        },
        Persona {
            phone: "919839012345".into(),
            name: "Ramesh Kumar".into(),
            label: "नागरिक / Citizen — Ramesh (demo)".into(),
        },
    ];
    personas.extend(cfg.people.iter().map(|p| Persona {
        phone: p.phone.as_str().to_string(),
        name: p.name.clone(),
        label: format!(
            "{} — {}",
            p.role.as_str(),
            p.designation.clone().unwrap_or_else(|| p.name.clone())
        ),
    }));
    SimConfig {
        app_secret: w.app_secret.clone(),
        access_token: w.access_token.clone(),
        phone_number_id: w.phone_number_id.clone(),
        webhook_url: Some(format!("{local_base}/webhook")),
        personas,
        ..SimConfig::default()
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
