//! The adapters the runner stands on: embedded (SQLite, folder, SQLite queue) by default.

use std::sync::Arc;

use anyhow::Context;
use shikayat_adapters::consumer::QueueConsumer;
use shikayat_adapters::embedded::{Db, FolderMedia, SqliteQueue, SqliteStore};
use shikayat_core::config::DistrictConfig;
use shikayat_core::ports::{ComplaintStore, Conversations, Directory, MediaStore, MessageLog, Queue};

use crate::settings::LocalSettings;

pub struct Backend {
    pub complaints: Arc<dyn ComplaintStore>,
    pub messages: Arc<dyn MessageLog>,
    pub conversations: Arc<dyn Conversations>,
    pub directory: Arc<dyn Directory>,
    pub media: Arc<dyn MediaStore>,
    pub queue: Arc<dyn Queue>,
    pub consumer: Arc<dyn QueueConsumer>,
    /// The SQLite database when embedded: flushed before every send to WhatsApp (`durable`).
    pub db: Option<Db>,
}

/// SQLite and a folder under the data dir; the directory is reloaded from the district config.
pub async fn embedded(s: &LocalSettings, config: &DistrictConfig) -> anyhow::Result<Backend> {
    std::fs::create_dir_all(&s.data_dir).with_context(|| format!("creating {}", s.data_dir.display()))?;
    // Group commit: one fsync for many commits, at the points where something leaves the
    // process (see `Db`), instead of one per commit.
    let db = Db::open_group_commit(&s.data_dir).map_err(|e| anyhow::anyhow!("opening the database: {e}"))?;
    let store = Arc::new(SqliteStore::new(db.clone()));
    let sync = db.clone();
    store
        .load_directory(config)
        .await
        .map_err(|e| anyhow::anyhow!("loading the directory: {e}"))?;
    let queue = Arc::new(SqliteQueue::new(db, std::time::Duration::from_secs(60), 5));
    Ok(Backend {
        complaints: store.clone(),
        messages: store.clone(),
        conversations: store.clone(),
        directory: store,
        // Keys start with `media/`, so files land in <data dir>/media/<complaint>/…
        media: Arc::new(FolderMedia::new(&s.data_dir)),
        queue: queue.clone(),
        consumer: queue,
        db: Some(sync),
    })
}

/// DynamoDB, S3 and SQS (named from `SHIKAYAT_AWS_PREFIX`; `AWS_ENDPOINT_URL` for moto). The
/// runner polls the SQS queues itself. The district config it was given is loaded into the
/// directory and settings tables, as `shikayat-admin` would.
pub async fn aws(config: &DistrictConfig, config_text: &str) -> anyhow::Result<Backend> {
    use shikayat_adapters::aws::{ports_parts, AwsClients, AwsNames};
    let names = AwsNames::from_env();
    let clients = AwsClients::from_env().await;
    let mut parts = ports_parts(&clients, &names)
        .await
        .map_err(|e| anyhow::anyhow!("AWS resources (run `shikayat-admin provision`?): {e}"))?;
    // The runner polls SQS itself: a killed runner's batch comes back in a minute, not in the
    // queues' Lambda-sized visibility timeouts.
    if let Some(queue) = std::sync::Arc::get_mut(&mut parts.queue) {
        queue.poll_for_local_runner();
    }
    parts
        .store
        .load_directory(config)
        .await
        .map_err(|e| anyhow::anyhow!("loading the directory: {e}"))?;
    parts
        .store
        .put_district_config(config_text)
        .await
        .map_err(|e| anyhow::anyhow!("saving the district config: {e}"))?;
    Ok(Backend {
        complaints: parts.store.clone(),
        messages: parts.store.clone(),
        conversations: parts.store.clone(),
        directory: parts.store,
        media: parts.media,
        queue: parts.queue.clone(),
        consumer: parts.queue,
        db: None,
    })
}
