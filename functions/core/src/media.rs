//! Media naming and integrity.

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::complaint::MediaKind;
use crate::ids::ComplaintId;

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Meta's claimed sha256 may be hex (either case) or base64, padded or not (reference §7).
pub fn sha256_matches(bytes: &[u8], claimed: &str) -> bool {
    let claimed = claimed.trim();
    let digest = Sha256::digest(bytes);
    let decoded = if claimed.len() == 64 {
        hex::decode(claimed).ok()
    } else {
        let padded = base64::engine::general_purpose::STANDARD;
        let bare = base64::engine::general_purpose::STANDARD_NO_PAD;
        padded.decode(claimed).ok().or_else(|| bare.decode(claimed).ok())
    };
    decoded.is_some_and(|d| d.as_slice() == digest.as_slice())
}

/// `media/<complaint>/<inbound|report>/<message>.<ext>`, `message` made path-safe. Callers pass
/// the message's keyed-hash id (`Ports::ids`), never the wamid: a wamid holds the sender's number.
pub fn media_key(id: &ComplaintId, folder: &str, message: &str, mime_type: &str, kind: MediaKind) -> String {
    let safe: String = message
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("media/{id}/{folder}/{safe}.{}", extension(mime_type, kind))
}

pub fn extension(mime_type: &str, kind: MediaKind) -> &'static str {
    let base = mime_type.split(';').next().unwrap_or("").trim();
    match base {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/webp" => "webp",
        "video/mp4" => "mp4",
        "video/3gpp" => "3gp",
        "audio/ogg" => "ogg",
        "audio/mpeg" => "mp3",
        "audio/aac" => "aac",
        "audio/amr" => "amr",
        "audio/mp4" => "m4a",
        "application/pdf" => "pdf",
        "text/plain" => "txt",
        _ => match kind {
            MediaKind::Image => "img",
            MediaKind::Video => "video",
            MediaKind::Audio => "audio",
            MediaKind::Document => "bin",
            MediaKind::Sticker => "webp",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha_in_hex_or_base64() {
        let hex = sha256_hex(b"abc");
        let b64 = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(b"abc"));
        assert!(sha256_matches(b"abc", &hex));
        assert!(sha256_matches(b"abc", &hex.to_uppercase()));
        assert!(sha256_matches(b"abc", &b64));
        assert!(sha256_matches(b"abc", b64.trim_end_matches('=')));
        assert!(!sha256_matches(b"abd", &b64));
        assert!(!sha256_matches(b"abc", "not a hash"));
    }

    #[test]
    fn keys_are_path_safe() {
        let id = ComplaintId::new("AMT", 2026, 1);
        assert_eq!(
            media_key(
                &id,
                "inbound",
                "wamid.HBg/../x=",
                "audio/ogg; codecs=opus",
                MediaKind::Audio
            ),
            "media/AMT-2026-000001/inbound/wamid.HBg_.._x_.ogg"
        );
    }
}
