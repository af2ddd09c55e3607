//! Nothing leaves for WhatsApp before what caused it is on disk: with the database on group
//! commit (`Db::open_group_commit`), a send first waits for the flush of every commit before it
//! (the command, the complaint and its outbox, the pacing slot). A power cut can then lose only
//! work that nobody outside has seen, and the queue redoes it.

use std::sync::Arc;

use async_trait::async_trait;
use shikayat_adapters::embedded::Db;
use shikayat_core::outbound::OutboundMessage;
use shikayat_core::ports::{Download, SendError, WhatsApp};
use shikayat_core::Phone;

pub struct SyncBeforeSend {
    pub inner: Arc<dyn WhatsApp>,
    pub db: Db,
}

#[async_trait]
impl WhatsApp for SyncBeforeSend {
    async fn send(
        &self,
        to: &Phone,
        msg: &OutboundMessage,
        reply_to: Option<&str>,
    ) -> Result<String, SendError> {
        if let Err(e) = self.db.sync().await {
            return Err(SendError::Retryable {
                code: None,
                detail: format!("not sent: the database could not be flushed: {e}"),
            });
        }
        self.inner.send(to, msg, reply_to).await
    }

    async fn download_media(&self, media_id: &str) -> Result<Download, SendError> {
        self.inner.download_media(media_id).await
    }

    async fn upload_media(
        &self,
        bytes: Vec<u8>,
        mime_type: &str,
        filename: &str,
    ) -> Result<String, SendError> {
        self.inner.upload_media(bytes, mime_type, filename).await
    }

    async fn mark_read(&self, wamid: &str) -> Result<(), SendError> {
        self.inner.mark_read(wamid).await
    }
}
