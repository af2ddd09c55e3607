use std::fmt;

use serde::{Deserialize, Serialize};

/// A complaint number such as `AMT-2026-000123`: district code, year, sequence.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ComplaintId(String);

impl ComplaintId {
    pub fn new(district: &str, year: i32, seq: u64) -> Self {
        Self(format!("{}-{year}-{seq:06}", district.to_ascii_uppercase()))
    }

    /// Parses a complaint number written by a person: case-insensitive, with `-`, `/`, or spaces.
    pub fn parse(s: &str) -> Option<Self> {
        let cleaned: String = s
            .trim()
            .chars()
            .map(|c| if c == '/' || c == ' ' || c == '_' { '-' } else { c })
            .collect();
        let mut parts = cleaned.split('-');
        let district = parts.next()?;
        let year = parts.next()?;
        let seq = parts.next()?;
        if parts.next().is_some()
            || !(2..=5).contains(&district.len())
            || !district.chars().all(|c| c.is_ascii_alphabetic())
            || year.len() != 4
            || !year.chars().all(|c| c.is_ascii_digit())
            || seq.is_empty()
            || seq.len() > 9
            || !seq.chars().all(|c| c.is_ascii_digit())
        {
            return None;
        }
        let year: i32 = year.parse().ok()?;
        let seq: u64 = seq.parse().ok()?;
        Some(Self::new(district, year, seq))
    }

    /// Finds the first complaint number of this district in free text ("status of amt-2026-12?").
    pub fn find_in(text: &str, district: &str) -> Option<Self> {
        let prefix = district.to_ascii_lowercase();
        text.split(|c: char| c.is_whitespace() || ",.;:?!()[]{}'\"।".contains(c))
            .filter(|w| w.to_ascii_lowercase().starts_with(&prefix))
            .find_map(Self::parse)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn district(&self) -> &str {
        self.0.split('-').next().unwrap_or_default()
    }
}

impl fmt::Display for ComplaintId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A WhatsApp user: a wa_id (digits, `919812345678`) or, for users known only by username, a
/// business-scoped user id (`IN.81907658751096802643`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    /// Normalises `+91 98123-45678` and `919812345678` to digits; keeps a BSUID as it is.
    pub fn new(raw: &str) -> Self {
        let raw = raw.trim();
        if raw.contains('.') {
            return Self(raw.to_string());
        }
        Self(raw.chars().filter(|c| c.is_ascii_digit()).collect())
    }

    pub fn is_bsuid(&self) -> bool {
        self.0.contains('.')
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form to log: personal data stays out of logs. `919812345678` → `91******5678`.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

impl fmt::Display for Phone {
    /// Display is the masked form so a phone number never lands in a log by accident.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

pub fn mask(raw: &str) -> String {
    let chars: Vec<char> = raw.chars().collect();
    if chars.len() <= 6 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..2].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 6))
}

/// Masks every run of eight or more digits (phone numbers inside keys and free text) and cuts
/// every wamid down to `wamid.…` (a wamid is base64 of a blob holding the number), so an error
/// from a store or from Meta can be logged.
pub fn mask_numbers(text: &str) -> String {
    const WAMID: &str = "wamid.";
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 8 {
            out.push_str(&mask(run));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    let mut chars = text.char_indices().peekable();
    while let Some((i, ch)) = chars.next() {
        if text[i..].starts_with(WAMID) {
            flush(&mut run, &mut out);
            out.push_str("wamid.…");
            // Skip the prefix and every base64 character after it (either alphabet, padding).
            for _ in 1..WAMID.len() {
                chars.next();
            }
            while chars
                .peek()
                .is_some_and(|(_, c)| c.is_ascii_alphanumeric() || "+/=_-".contains(*c))
            {
                chars.next();
            }
            continue;
        }
        if ch.is_ascii_digit() {
            run.push(ch);
        } else {
            flush(&mut run, &mut out);
            out.push(ch);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_complaint_numbers() {
        let id = ComplaintId::new("amt", 2026, 123);
        assert_eq!(id.as_str(), "AMT-2026-000123");
        assert_eq!(ComplaintId::parse("amt/2026/123"), Some(id.clone()));
        assert_eq!(ComplaintId::parse("AMT-2026-000123"), Some(id.clone()));
        assert_eq!(ComplaintId::parse("AMT-26-1"), None);
        assert_eq!(ComplaintId::parse("AMT-2026-"), None);
        assert_eq!(ComplaintId::parse("पानी"), None);
        assert_eq!(
            ComplaintId::find_in("मेरी शिकायत AMT-2026-000123 का क्या हुआ?", "AMT"),
            Some(id)
        );
        assert_eq!(ComplaintId::find_in("status please", "AMT"), None);
    }

    #[test]
    fn phones_normalise_and_mask() {
        assert_eq!(Phone::new("+91 98123-45678").as_str(), "919812345678");
        assert_eq!(Phone::new("919812345678").masked(), "91******5678");
        assert_eq!(format!("{}", Phone::new("919812345678")), "91******5678");
        assert!(Phone::new("IN.8190765875").is_bsuid());
        assert_eq!(mask("123"), "***");
        assert_eq!(
            mask_numbers("tell:w0a1b:919000000301:registered AMT-2026-000123"),
            "tell:w0a1b:91******0301:registered AMT-2026-000123"
        );
        assert_eq!(
            mask_numbers("part 1 was sent as wamid.HBgMOTE5ODEyMzQ1Njc4FQIAEhgU/+A=, not 12345678"),
            "part 1 was sent as wamid.…, not 12**5678"
        );
        assert_eq!(mask_numbers("wamid."), "wamid.…");
        assert_eq!(mask_numbers("बिजली wamid.ab:x"), "बिजली wamid.…:x");
    }
}
