//! Department routing from keywords written in Devanagari, Hinglish or English.

use crate::config::DistrictConfig;

/// Lower-case, nukta-free, single-spaced text of words: what keywords are matched against.
/// Words split on spaces and punctuation only: Devanagari vowel signs and the virama are not
/// alphanumeric, so splitting on "not alphanumeric" would break Hindi words apart.
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        // Precomposed nukta letters (क़ ख़ ग़ ज़ ड़ ढ़ फ़ य़) to their base letters, the nukta itself
        // dropped: people write both forms, and with or without it.
        let base = match ch {
            '\u{0958}' => '\u{0915}',
            '\u{0959}' => '\u{0916}',
            '\u{095A}' => '\u{0917}',
            '\u{095B}' => '\u{091C}',
            '\u{095C}' => '\u{0921}',
            '\u{095D}' => '\u{0922}',
            '\u{095E}' => '\u{092B}',
            '\u{095F}' => '\u{092F}',
            '\u{093C}' | '\u{200C}' | '\u{200D}' => continue,
            c => c,
        };
        let is_separator = base.is_whitespace()
            || (base.is_ascii_punctuation() && base != '&')
            || matches!(base, '।' | '॥' | '“' | '”' | '‘' | '’' | '…' | '–' | '—');
        if is_separator {
            if !out.ends_with(' ') && !out.is_empty() {
                out.push(' ');
            }
        } else {
            out.extend(base.to_lowercase());
        }
    }
    out.trim_end().to_string()
}

/// How well `keyword` matches the words: its length in characters (longer phrases are more
/// specific: "street light" beats "light"), or 0. A single word matches a word that equals it or,
/// for keywords of four or more characters, starts with it ("roads", "बिजली" in "बिजलीघर").
fn score(words: &[&str], joined: &str, keyword: &str) -> usize {
    let kw = normalise(keyword);
    if kw.is_empty() {
        return 0;
    }
    let len = kw.chars().count();
    if kw.contains(' ') {
        let padded = format!(" {joined} ");
        let hit = padded.contains(&format!(" {kw} ")) || (len >= 4 && padded.contains(&format!(" {kw}")));
        return if hit { len } else { 0 };
    }
    let hit = words
        .iter()
        .any(|w| *w == kw || (len >= 4 && w.starts_with(kw.as_str())));
    if hit {
        len
    } else {
        0
    }
}

/// The department whose keywords best match the text, or None (the control room decides) when
/// nothing matches or two departments tie.
pub fn route<'a>(cfg: &'a DistrictConfig, text: &str) -> Option<&'a str> {
    let joined = normalise(text);
    let words: Vec<&str> = joined.split(' ').collect();
    let mut best: Option<(&str, usize)> = None;
    let mut tie = false;
    for dep in &cfg.departments {
        let total: usize = dep.keywords.iter().map(|k| score(&words, &joined, k)).sum();
        if total == 0 {
            continue;
        }
        match best {
            Some((_, b)) if total < b => {}
            Some((_, b)) if total == b => tie = true,
            _ => {
                best = Some((dep.id.as_str(), total));
                tie = false;
            }
        }
    }
    if tie {
        None
    } else {
        best.map(|(id, _)| id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::sample;

    #[test]
    fn routes_hindi_hinglish_and_english() {
        let cfg = sample();
        assert_eq!(route(&cfg, "हमारे गांव में तीन दिन से पानी नहीं आ रहा"), Some("water"));
        assert_eq!(route(&cfg, "gaon me 3 din se paani nahi aa raha"), Some("water"));
        assert_eq!(route(&cfg, "The hand pump near school is broken."), Some("water"));
        assert_eq!(
            route(&cfg, "bijli nahi hai, transformer jal gaya"),
            Some("electricity")
        );
        assert_eq!(route(&cfg, "ट्रांसफार्मर खराब है।"), Some("electricity"));
        assert_eq!(route(&cfg, "Roads are full of potholes"), Some("roads"));
        // With or without the nukta.
        assert_eq!(route(&cfg, "सड़क टूटी है"), Some("roads"));
        assert_eq!(route(&cfg, "सड\u{093C}क टूटी है"), Some("roads"));
        assert_eq!(route(&cfg, "सडक टूटी है"), Some("roads"));
    }

    #[test]
    fn no_match_or_a_tie_goes_to_the_control_room() {
        let cfg = sample();
        assert_eq!(route(&cfg, "मेरी जमीन पर कब्जा हो गया"), None);
        assert_eq!(route(&cfg, ""), None);
        assert_eq!(route(&cfg, "water and bijli"), None);
        // Short keywords only match whole words.
        assert_eq!(route(&cfg, "nalanda"), None);
    }

    #[test]
    fn normalise_keeps_devanagari_words_whole() {
        assert_eq!(normalise("ट्रांसफार्मर, खराब!"), "ट्रांसफार्मर खराब");
        assert_eq!(normalise("  Hand   PUMP "), "hand pump");
    }
}
