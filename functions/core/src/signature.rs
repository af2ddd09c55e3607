//! `X-Hub-Signature-256` over the exact raw body (reference §2), and the GET handshake.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

pub fn sign(secret: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length, so new_from_slice cannot fail here.
    let mut mac = match HmacSha256::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn matches(secret: &[u8], body: &[u8], given_hex: &[u8]) -> bool {
    let expected = sign(secret, body);
    let expected = expected.as_bytes().get(7..).unwrap_or_default();
    expected.len() == given_hex.len() && bool::from(expected.ct_eq(given_hex))
}

/// True when `header` is `sha256=<hex>` of `body` under `secret`. Over the raw bytes first; if
/// that fails and the body has non-ASCII bytes, over the body with non-ASCII written as `\uXXXX`
/// (the form Meta documents signing).
pub fn verify(secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(given) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let given = given.to_ascii_lowercase();
    if secret.is_empty() {
        return false;
    }
    if matches(secret, body, given.as_bytes()) {
        return true;
    }
    if body.is_ascii() {
        return false;
    }
    match std::str::from_utf8(body) {
        Ok(text) => matches(secret, escape_non_ascii(text).as_bytes(), given.as_bytes()),
        Err(_) => false,
    }
}

pub fn escape_non_ascii(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for ch in text.chars() {
        if ch.is_ascii() {
            out.push(ch);
        } else {
            let mut units = [0u16; 2];
            for unit in ch.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// The GET verification handshake: the challenge to echo, or None (answer 403).
pub fn handshake<'a>(
    mode: Option<&str>,
    token: Option<&str>,
    challenge: Option<&'a str>,
    expected_token: &str,
) -> Option<&'a str> {
    let token_ok = match token {
        Some(t) => !expected_token.is_empty() && bool::from(t.as_bytes().ct_eq(expected_token.as_bytes())),
        None => false,
    };
    if mode == Some("subscribe") && token_ok {
        challenge
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_raw_bytes_only() {
        let body = br#"{"text":"a\/b"}"#;
        let sig = sign(b"secret", body);
        assert!(verify(b"secret", body, Some(&sig)));
        assert!(verify(
            b"secret",
            body,
            Some(&sig.to_uppercase().replace("SHA256=", "sha256="))
        ));
        assert!(!verify(b"other", body, Some(&sig)));
        assert!(
            !verify(b"secret", br#"{"text":"a/b"}"#, Some(&sig)),
            "re-serialised body must fail"
        );
        assert!(!verify(b"secret", body, None));
        assert!(!verify(b"secret", body, Some("sha256=")));
        assert!(!verify(b"secret", body, Some("md5=abc")));
        assert!(
            !verify(b"", body, Some(&sign(b"", body))),
            "an unset secret accepts nothing"
        );
    }

    #[test]
    fn accepts_literal_utf8_signed_in_escaped_form() {
        let literal = "{\"t\":\"सड़क 😀\"}";
        let escaped = escape_non_ascii(literal);
        assert_eq!(escaped, "{\"t\":\"\\u0938\\u0921\\u093c\\u0915 \\ud83d\\ude00\"}");
        let sig = sign(b"s", escaped.as_bytes());
        assert!(verify(b"s", escaped.as_bytes(), Some(&sig)));
        assert!(verify(b"s", literal.as_bytes(), Some(&sig)));
    }

    #[test]
    fn handshake_checks_mode_and_token() {
        assert_eq!(
            handshake(Some("subscribe"), Some("tok"), Some("123"), "tok"),
            Some("123")
        );
        assert_eq!(
            handshake(Some("subscribe"), Some("bad"), Some("123"), "tok"),
            None
        );
        assert_eq!(
            handshake(Some("unsubscribe"), Some("tok"), Some("123"), "tok"),
            None
        );
        assert_eq!(handshake(Some("subscribe"), Some(""), Some("1"), ""), None);
    }
}
