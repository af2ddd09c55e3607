//! Stable ids for people and messages that carry no phone number (issue 9, item 5).
//!
//! A phone number is personal data, and so is a wamid: it is base64 of a blob holding the
//! number. Keys, marks, object names and log fields that need a stable id for a person or a
//! message use a keyed hash of it instead: HMAC-SHA256 with a per-deployment key, truncated.
//! Without the key, nobody can test a guessed number against an id (a plain hash of a 12-digit
//! number is reversed by trying them all).

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::ids::Phone;
use crate::secret::{self, SecretError, ID_KEY_MIN};

/// 96 bits: collisions among a district's wamids stay out of reach (a collision would make two
/// messages share a dedupe mark), and keys stay short enough for SQS ids.
const ID_BYTES: usize = 12;

/// The keyed hash, built once per process from the deployment's id key.
#[derive(Clone)]
pub struct KeyedHash {
    mac: Hmac<Sha256>,
}

impl KeyedHash {
    /// From the deployment's id key; refused like any other secret when it is a placeholder or
    /// shorter than `ID_KEY_MIN`. `name` and `how` say where the key comes from, for the error.
    pub fn new(key: &str, name: &str, how: &str) -> Result<Self, SecretError> {
        secret::check(name, key, ID_KEY_MIN, how)?;
        let mac = Hmac::<Sha256>::new_from_slice(key.trim().as_bytes()).map_err(|_| {
            // HMAC takes keys of any length; this arm cannot be reached.
            SecretError::Missing {
                name: name.to_string(),
                how: how.to_string(),
            }
        })?;
        Ok(Self { mac })
    }

    /// The id of a person: `p` and 24 hex digits. The same number always gives the same id
    /// under one key (pacing, marks, log correlation); another deployment's ids differ.
    pub fn phone(&self, phone: &Phone) -> String {
        self.hash('p', phone.as_str())
    }

    /// The id of a WhatsApp message: `w` and 24 hex digits.
    pub fn wamid(&self, wamid: &str) -> String {
        self.hash('w', wamid)
    }

    /// The id of a raw party string (a wa_id or a BSUID) as the FIFO group of its events.
    pub fn party(&self, party: &str) -> String {
        self.phone(&Phone::new(party))
    }

    fn hash(&self, domain: char, value: &str) -> String {
        let mut mac = self.mac.clone();
        // The domain keeps a phone's id and a wamid's id apart even for the same string.
        mac.update(&[domain as u8, 0]);
        mac.update(value.as_bytes());
        let full = mac.finalize().into_bytes();
        format!("{domain}{}", hex::encode(&full[..ID_BYTES]))
    }
}

impl fmt::Debug for KeyedHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyedHash(<key hidden>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn stable_per_key_and_free_of_the_number() {
        let h = KeyedHash::new(KEY, "id_key", "").expect("key");
        let p = Phone::new("+91 98123 45678");
        let id = h.phone(&p);
        assert_eq!(id, h.phone(&Phone::new("919812345678")));
        assert_eq!(id.len(), 1 + 2 * ID_BYTES);
        assert!(id.starts_with('p') && !id.contains("9812345678"));
        assert_eq!(h.party("919812345678"), id);
        let other = KeyedHash::new("fedcba9876543210fedcba9876543210", "id_key", "").expect("key");
        assert_ne!(other.phone(&p), id, "another deployment, other ids");
        let w = "wamid.HBgMOTE5ODEyMzQ1Njc4FQIAEhgUM0VCMEI=";
        assert_eq!(h.wamid(w), h.wamid(w));
        assert!(h.wamid(w).starts_with('w') && !h.wamid(w).contains("OTE5"));
        assert_ne!(h.wamid("919812345678")[1..], id[1..], "domains apart");
        assert_eq!(format!("{h:?}"), "KeyedHash(<key hidden>)");
    }

    #[test]
    fn a_placeholder_or_short_key_is_refused() {
        assert!(KeyedHash::new("set-me", "id_key", "").is_err());
        assert!(KeyedHash::new("short", "SHIKAYAT_ID_KEY", "").is_err());
    }
}
