//! Meta's wire form of webhook JSON, and the signature over it.
//!
//! Meta escapes `/` as `\/` and writes every non-ASCII character as lowercase `\uXXXX` UTF-16
//! units. Apps that re-serialize before verifying break on exactly these bytes, so the simulator
//! reproduces them.

use std::fmt::Write as _;

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

/// Rewrites compact JSON text into Meta's escaping. Safe on whole documents: `/` and non-ASCII
/// can only occur inside strings, where both escapes mean the same character.
pub(crate) fn meta_escape(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + json.len() / 4);
    for ch in json.chars() {
        if ch == '/' {
            out.push_str("\\/");
        } else if ch.is_ascii() {
            out.push(ch);
        } else {
            let mut units = [0u16; 2];
            for unit in ch.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        }
    }
    out
}

/// Serializes a value to the exact bytes Meta would send.
pub(crate) fn meta_json<T: Serialize>(value: &T) -> Vec<u8> {
    // Serializing plain data structures cannot fail; an empty object is a harmless fallback.
    let compact = serde_json::to_string(value).unwrap_or_else(|_| "{}".to_string());
    meta_escape(&compact).into_bytes()
}

/// `sha256=<lowercase hex HMAC-SHA256(secret, body)>`, the `X-Hub-Signature-256` value.
pub(crate) fn signature(secret: &str, body: &[u8]) -> String {
    match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(body);
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        }
        // HMAC accepts keys of any length, so this arm is unreachable in practice.
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escapes_slash_devanagari_and_emoji() {
        let text = "\u{938}\u{921}\u{93c}\u{915}/road \u{1F600}"; // "सड़क/road 😀"
        let value = json!({ "body": text });
        let bytes = meta_json(&value);
        let wire = String::from_utf8(bytes.clone()).unwrap();
        assert_eq!(wire, r#"{"body":"\u0938\u0921\u093c\u0915\/road \ud83d\ude00"}"#);
        assert!(bytes.is_ascii());
        let back: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn escaping_keeps_backslashes_and_quotes_meaningful() {
        let value = json!({ "a": "x\\/y \"q\" é\n" });
        let back: serde_json::Value = serde_json::from_slice(&meta_json(&value)).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn signature_is_lowercase_hex_hmac() {
        // RFC-style known vector for HMAC-SHA256.
        assert_eq!(
            signature("key", b"The quick brown fox jumps over the lazy dog"),
            "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }
}
