//! The rule every secret must pass before a process starts on it (issue 9, item 6): not a
//! placeholder such as the infra template's `set-me`, and long enough that guessing it is hopeless.
//! The webhook signs nothing itself; it trusts any post signed with the app secret, so a known or
//! short app secret lets anyone post messages as any citizen, officer or the control room.

use thiserror::Error;

/// Meta's app secrets are 32 hex characters; ours must be at least that.
pub const APP_SECRET_MIN: usize = 32;
/// The verify token only guards the GET handshake, but must not be guessable either.
pub const VERIFY_TOKEN_MIN: usize = 16;
/// The key of the keyed hash (`pseudonym::KeyedHash`): as long as an HMAC-SHA256 key should be.
pub const ID_KEY_MIN: usize = 32;

/// Words that mark a value someone has yet to fill in. `set-me` is what infra/template.yaml puts in
/// the secret it creates; the others are the usual spellings of the same intent.
const PLACEHOLDERS: [&str; 7] = [
    "set-me",
    "setme",
    "set_me",
    "change-me",
    "changeme",
    "replace-me",
    "placeholder",
];

/// Why a secret was refused. It names the value and says how to set it, never what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SecretError {
    #[error("{name} is not set: {how}")]
    Missing { name: String, how: String },
    #[error("{name} is a placeholder, not a secret: {how}")]
    Placeholder { name: String, how: String },
    #[error("{name} is {len} characters; at least {min} are needed: {how}")]
    TooShort {
        name: String,
        len: usize,
        min: usize,
        how: String,
    },
}

/// Checks one secret: `name` is how the operator knows it (`app_secret in the WhatsApp secret`,
/// `WHATSAPP_APP_SECRET`), `how` tells them where to put a proper value.
pub fn check(name: &str, value: &str, min: usize, how: &str) -> Result<(), SecretError> {
    let v = value.trim();
    let (name, how) = (name.to_string(), how.to_string());
    if v.is_empty() {
        return Err(SecretError::Missing { name, how });
    }
    let lower = v.to_ascii_lowercase();
    // Contained, not equal: `set-me-set-me-set-me-set-me-set-me` is long but no more secret.
    if PLACEHOLDERS.iter().any(|p| lower.contains(p)) {
        return Err(SecretError::Placeholder { name, how });
    }
    let len = v.chars().count();
    if len < min {
        return Err(SecretError::TooShort { name, len, min, how });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_short_values_are_refused_without_showing_them() {
        let how = "put a random value in WHATSAPP_APP_SECRET";
        let e = check("WHATSAPP_APP_SECRET", "set-me", APP_SECRET_MIN, how).unwrap_err();
        assert!(matches!(e, SecretError::Placeholder { .. }));
        let text = e.to_string();
        assert!(
            text.contains("WHATSAPP_APP_SECRET") && text.contains(how),
            "{text}"
        );
        assert!(!text.contains("set-me"), "the value itself stays out: {text}");
        assert!(check("x", &"set-me".repeat(8), APP_SECRET_MIN, how).is_err());
        assert!(check("x", "  SET-ME ", 1, how).is_err());
        let short = check(
            "app_secret",
            "0123456789abcdef0123456789abcde",
            APP_SECRET_MIN,
            how,
        );
        assert_eq!(
            short,
            Err(SecretError::TooShort {
                name: "app_secret".into(),
                len: 31,
                min: 32,
                how: how.into()
            })
        );
        assert!(!short.unwrap_err().to_string().contains("0123"));
        assert!(matches!(
            check("x", " ", 1, how),
            Err(SecretError::Missing { .. })
        ));
        assert!(check("verify_token", "0123456789abcde", VERIFY_TOKEN_MIN, how).is_err());
    }

    #[test]
    fn long_random_values_pass() {
        assert_eq!(
            check("a", "0123456789abcdef0123456789abcdef", APP_SECRET_MIN, ""),
            Ok(())
        );
        assert_eq!(check("v", "0123456789abcdef", VERIFY_TOKEN_MIN, ""), Ok(()));
    }
}
