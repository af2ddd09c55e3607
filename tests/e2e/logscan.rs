//! The log-privacy check (issue 9, item 5): every line a runner logged is searched for each test
//! phone number, in clear and inside a wamid. A wamid is base64 of a blob that holds the number,
//! and the number may start at any byte offset of that blob, so it is searched as base64 at all
//! three byte alignments: the number preceded by 0, 1 or 2 bytes, keeping only the characters that
//! do not depend on the bytes around it.

use base64::Engine;

/// The patterns that betray `number`: the digits, the national part (the last ten digits, bounded
/// by non-digits) and, for each alignment and both base64 alphabets, the characters of its
/// encoding that depend on the number alone.
#[derive(Debug, Clone)]
pub struct Needle {
    pub number: String,
    national: Option<String>,
    encoded: Vec<String>,
}

impl Needle {
    pub fn new(number: &str) -> Needle {
        let digits: String = number.chars().filter(char::is_ascii_digit).collect();
        let national = (digits.len() > 10).then(|| digits[digits.len() - 10..].to_string());
        let mut encoded = Vec::new();
        for lead in 0..3usize {
            let mut bytes = vec![0u8; lead];
            bytes.extend_from_slice(digits.as_bytes());
            // Character i covers bits 6i..6i+6; keep those wholly inside the number's bits.
            let (from_bit, to_bit) = (8 * lead, 8 * bytes.len());
            let first = from_bit.div_ceil(6);
            let end = to_bit / 6;
            for engine in [
                base64::engine::general_purpose::STANDARD_NO_PAD,
                base64::engine::general_purpose::URL_SAFE_NO_PAD,
            ] {
                let all = engine.encode(&bytes);
                if let Some(part) = all.get(first..end) {
                    if !encoded.iter().any(|e| e == part) {
                        encoded.push(part.to_string());
                    }
                }
            }
        }
        Needle {
            number: digits,
            national,
            encoded,
        }
    }

    /// What in `line` gives the number away, if anything.
    pub fn found_in(&self, line: &str) -> Option<&'static str> {
        if self.number.is_empty() {
            return None;
        }
        if line.contains(&self.number) {
            return Some("in clear");
        }
        if let Some(n) = &self.national {
            let bounded = line.match_indices(n.as_str()).any(|(i, _)| {
                let before = line[..i].chars().next_back();
                let after = line[i + n.len()..].chars().next();
                !before.is_some_and(|c| c.is_ascii_digit()) && !after.is_some_and(|c| c.is_ascii_digit())
            });
            if bounded {
                return Some("in clear (national number)");
            }
        }
        if self.encoded.iter().any(|e| line.contains(e.as_str())) {
            return Some("as base64 (inside a wamid?)");
        }
        None
    }

    /// The number as a failure message may show it.
    pub fn masked(&self) -> String {
        shikayat_core::ids::mask(&self.number)
    }
}

/// One log line that carries a number.
#[derive(Debug, Clone, PartialEq)]
pub struct Leak {
    pub line_no: usize,
    pub masked_number: String,
    pub how: &'static str,
    /// The line with every occurrence of the number (and its encodings) masked.
    pub masked_line: String,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Scan {
    pub lines: usize,
    pub numbers: usize,
    pub leaks: Vec<Leak>,
}

/// Searches every line of `log` for every number.
pub fn scan(log: &str, numbers: &[String]) -> Scan {
    let needles: Vec<Needle> = numbers.iter().map(|n| Needle::new(n)).collect();
    let mut out = Scan {
        numbers: needles.len(),
        ..Scan::default()
    };
    for (i, line) in log.lines().enumerate() {
        out.lines += 1;
        for n in &needles {
            if let Some(how) = n.found_in(line) {
                out.leaks.push(Leak {
                    line_no: i + 1,
                    masked_number: n.masked(),
                    how,
                    masked_line: mask_line(line, &needles),
                });
            }
        }
    }
    out
}

/// The line with every needle's digits and encodings replaced, so a failure message does not
/// repeat what it reports.
fn mask_line(line: &str, needles: &[Needle]) -> String {
    let mut s = line.to_string();
    for n in needles {
        if !n.number.is_empty() {
            s = s.replace(&n.number, &n.masked());
        }
        if let Some(nat) = &n.national {
            s = s.replace(nat.as_str(), &shikayat_core::ids::mask(nat));
        }
        for e in &n.encoded {
            s = s.replace(e.as_str(), &"*".repeat(e.len()));
        }
    }
    s
}

impl Scan {
    /// A failure message naming each offending line (masked), or None when the log is clean.
    pub fn report(&self, what: &str) -> Option<String> {
        if self.leaks.is_empty() {
            return None;
        }
        let mut msg = format!(
            "{what}: {} log line(s) of {} carry a phone number ({} numbers searched):\n",
            self.leaks.len(),
            self.lines,
            self.numbers
        );
        for l in self.leaks.iter().take(20) {
            msg.push_str(&format!(
                "  line {}: {} {}: {}\n",
                l.line_no, l.masked_number, l.how, l.masked_line
            ));
        }
        Some(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A wamid as the simulator and Meta shape it: the number starts at byte 3 of the blob.
    fn wamid_with(number: &str, lead: &[u8]) -> String {
        let mut blob = lead.to_vec();
        blob.extend_from_slice(number.as_bytes());
        blob.extend_from_slice(&[0x15, 0x02, 0x00, 0x12, 0x18, 0x14, b'A', b'B', 0x00]);
        format!("wamid.{}", base64::engine::general_purpose::STANDARD.encode(blob))
    }

    #[test]
    fn finds_a_number_in_clear_and_at_every_alignment() {
        let numbers = vec!["919812345678".to_string()];
        let clear = "INFO command{key=tell:x:919812345678:ack}: done";
        assert_eq!(scan(clear, &numbers).leaks[0].how, "in clear");
        let national = "to=9812345678 sent";
        assert_eq!(scan(national, &numbers).leaks.len(), 1);
        // The documented example, and the number behind 0..=5 bytes of anything.
        assert!(Needle::new("919812345678")
            .found_in("wamid.HBgMOTE5ODEyMzQ1Njc4FQIAEhgUM0VCMEI=")
            .is_some());
        for lead in [
            &[][..],
            &[0x1c],
            &[0x1c, 0x18],
            &[0x1c, 0x18, 0x0c],
            &[7, 7, 7, 7],
            &[1, 2, 3, 4, 5],
        ] {
            let line = format!(
                "INFO duplicate delivery ignored wamid={}",
                wamid_with("919812345678", lead)
            );
            let s = scan(&line, &numbers);
            assert_eq!(s.leaks.len(), 1, "lead {lead:?}: {line}");
            assert!(
                !s.leaks[0].masked_line.contains("OTE5ODEy"),
                "{}",
                s.leaks[0].masked_line
            );
            let report = s.report("desk").expect("a leak");
            assert!(!report.contains("919812345678"), "{report}");
        }
    }

    #[test]
    fn clean_lines_pass() {
        let numbers = vec!["919812345678".to_string(), "919000000301".to_string()];
        let log = "INFO message{from=91******5678 role=citizen}: registered complaint=AMT-2026-000001\n\
                   INFO command{kind=tell key=tell:3f9a0c1d2e4b5a69:ack}: done\n\
                   DEBUG at 1790000000123 ms, 19812345678 is not a number we know";
        let s = scan(log, &numbers);
        // "19812345678" holds the national part with a digit before it: not a match.
        assert_eq!(s.lines, 3);
        assert_eq!(s.numbers, 2);
        assert!(s.leaks.is_empty(), "{:?}", s.leaks);
        assert!(s.report("desk").is_none());
    }

    #[test]
    fn another_number_in_a_wamid_is_not_taken_for_ours() {
        let s = scan(
            &wamid_with("919000000105", &[0x1c, 0x18, 0x0c]),
            &["919812345678".to_string()],
        );
        assert!(s.leaks.is_empty());
    }
}
