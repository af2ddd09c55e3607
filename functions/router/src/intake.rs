//! Turning a message into a complaint or report detail; media is downloaded now, because
//! Meta's URL lasts five minutes, checked against Meta's sha256 and stored under the complaint.

use shikayat_core::complaint::{Location, MediaItem};
use shikayat_core::inbound::{Body, InboundMessage};
use shikayat_core::lifecycle::Detail;
use shikayat_core::media::{media_key, sha256_hex, sha256_matches};
use shikayat_core::ports::{Ports, SendError};
use shikayat_core::ComplaintId;

use crate::RouterError;

/// What the message adds. `Ok(None)`: nothing to add (a reaction, an unsupported type).
pub(crate) async fn detail(
    p: &Ports,
    id: &ComplaintId,
    folder: &str,
    m: &InboundMessage,
) -> Result<Option<Detail>, RouterError> {
    Ok(Some(match &m.body {
        Body::Text { text } => Detail::Text(text.clone()),
        Body::Contacts { summary } => Detail::Contact(format!("📇 {summary}")),
        Body::Location {
            latitude,
            longitude,
            name,
            address,
        } => Detail::Location(Location {
            latitude: *latitude,
            longitude: *longitude,
            name: name.clone(),
            address: address.clone(),
        }),
        Body::Media(r) => {
            let dl = p
                .whatsapp
                .download_media(&r.media_id)
                .await
                .map_err(RouterError::Send)?;
            let claimed = r.sha256.clone().or(dl.sha256.clone());
            if let Some(claim) = claimed {
                if !sha256_matches(&dl.bytes, &claim) {
                    // A truncated or corrupted download: let the queue try again.
                    return Err(RouterError::Send(SendError::Retryable {
                        code: None,
                        detail: format!("sha256 mismatch on media of {}", p.ids.wamid(&m.wamid)),
                    }));
                }
            }
            let mime = if r.mime_type.is_empty() {
                dl.mime_type.clone()
            } else {
                r.mime_type.clone()
            };
            // Named by the message's keyed-hash id: an object name never carries a wamid.
            let key = media_key(id, folder, &p.ids.wamid(&m.wamid), &mime, r.kind);
            let sha = sha256_hex(&dl.bytes);
            p.media.put(&key, &dl.bytes, &mime, &sha).await?;
            Detail::Media(MediaItem {
                wamid: m.wamid.clone(),
                kind: r.kind,
                mime_type: mime,
                sha256: sha,
                bytes: dl.bytes.len() as u64,
                key,
                caption: r.caption.clone(),
                filename: r.filename.clone(),
                voice: r.voice,
            })
        }
        Body::Reaction { .. }
        | Body::Interactive { .. }
        | Body::TemplateButton { .. }
        | Body::Unsupported { .. }
        | Body::System { .. }
        | Body::Unknown { .. } => return Ok(None),
    }))
}

/// The text a message carries, for complaint numbers and commands.
pub(crate) fn text_of(m: &InboundMessage) -> Option<&str> {
    match &m.body {
        Body::Text { text } => Some(text),
        Body::Media(r) => r.caption.as_deref(),
        _ => None,
    }
}

/// A media download Meta could not serve for good (expired id, too large) is not worth retrying.
pub(crate) fn is_lost_media(e: &RouterError) -> bool {
    matches!(e, RouterError::Send(SendError::Permanent { .. }))
}
