//! Finding a patient the way a receptionist types: the start of any word of the name, of the
//! email, of the phone number, or of a booking reference; without case or accents ("garc" finds
//! "García"). A patient's record keeps its words folded (`terms`); a query folds the same way
//! (`PatientQuery`), so each word of it is a prefix range of one index.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Lower case without accents: "José GARCÍA" → "jose garcia".
pub fn fold(text: &str) -> String {
    text.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The digits of a phone number, and its last ten (the number without a country code) and seven
/// (without the area code): "+1 (602) 555-0100" is found by "1602…", "602…" and "555…".
fn phone_terms(phone: &str) -> Vec<String> {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    let mut terms = vec![digits.clone()];
    for tail in [10, 7] {
        if digits.len() > tail {
            terms.push(digits[digits.len() - tail..].to_owned());
        }
    }
    terms
}

/// The words a patient is found by: each word of the name (and each part of a hyphenated one),
/// the whole email, the phone's digits. Folded, deduplicated, none empty.
pub fn terms(name: &str, email: &str, phone: Option<&str>) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    for word in fold(name).split_whitespace() {
        terms.push(word.to_owned());
        if word.contains(['-', '\'', '.']) {
            terms.extend(
                word.split(['-', '\'', '.'])
                    .filter(|part| !part.is_empty())
                    .map(str::to_owned),
            );
        }
    }
    terms.push(fold(email.trim()));
    terms.extend(phone.map(phone_terms).unwrap_or_default());
    terms.retain(|t| !t.is_empty());
    // A term is at most an index entry's worth; a name longer than that is found by its start.
    for term in &mut terms {
        if let Some((cut, _)) = term.char_indices().nth(MAX_TERM_CHARS) {
            term.truncate(cut);
        }
    }
    terms.sort();
    terms.dedup();
    terms
}

const MAX_TERM_CHARS: usize = 64;

/// What a search asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatientQuery {
    /// The start of a booking reference, upper case (`BK-7F3`).
    Reference(String),
    /// Every one of these words starts a term of the patient (a name's words, an email, digits).
    Words(Vec<String>),
}

impl PatientQuery {
    /// At least two characters; "BK-…" is a reference; a number typed with spaces, dashes or
    /// brackets ("(602) 555-01") is its digits; anything else is words of a name or an email.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.chars().count() < 2 {
            return Err("must be at least 2 characters".into());
        }
        if text.chars().count() > 100 {
            return Err("must be at most 100 characters".into());
        }
        if text.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        if text.len() > 3 && text.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("bk-")) {
            return Ok(Self::Reference(text.to_ascii_uppercase()));
        }
        let phone_like = text
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c));
        if phone_like {
            let digits: String = text.chars().filter(char::is_ascii_digit).collect();
            if digits.len() >= 2 {
                return Ok(Self::Words(vec![digits]));
            }
        }
        let mut words: Vec<String> = fold(text)
            .split_whitespace()
            .map(|w| w.trim_matches(',').to_owned())
            .filter(|w| !w.is_empty())
            .collect();
        words.sort();
        words.dedup();
        if words.is_empty() {
            return Err("must contain a name, email, phone number or booking reference".into());
        }
        // The longest word narrows the search most; it goes first.
        words.sort_by_key(|w| std::cmp::Reverse(w.chars().count()));
        words.truncate(4);
        // Terms are stored at most this long: a longer word is looked for by its start.
        for word in &mut words {
            if let Some((cut, _)) = word.char_indices().nth(MAX_TERM_CHARS) {
                word.truncate(cut);
            }
        }
        Ok(Self::Words(words))
    }
}

/// The first string after every string that starts with `prefix` (in byte order): `prefix` up
/// to it is the range of the index that holds them.
pub fn prefix_end(prefix: &str) -> String {
    let mut end = prefix.to_owned();
    end.push(char::MAX);
    end
}

/// The last booking reference that starts with `prefix` (references are `BK-` and ten of
/// `0-9A-Z`): a bound that holds in any collation, which sorts digits before letters and `Z`
/// last among them, unlike `prefix_end`'s U+10FFFF.
pub fn reference_prefix_last(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        "Z".repeat(13usize.saturating_sub(prefix.len()).max(1))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_drops_case_and_accents() {
        assert_eq!(fold("José GARCÍA-Núñez"), "jose garcia-nunez");
        assert_eq!(fold("Zoë"), "zoe");
    }

    #[test]
    fn a_patient_is_found_by_each_word_the_email_and_the_phone() {
        let terms = terms(
            "Ana María García-López",
            "Ana.G@Example.org",
            Some("+16025550100"),
        );
        for expected in [
            "ana",
            "maria",
            "garcia-lopez",
            "garcia",
            "lopez",
            "ana.g@example.org",
            "16025550100",
            "6025550100",
            "5550100",
        ] {
            assert!(
                terms.contains(&expected.to_owned()),
                "{expected} in {terms:?}"
            );
        }
    }

    #[test]
    fn queries_are_references_digits_or_words() {
        assert_eq!(
            PatientQuery::parse(" bk-7f3 "),
            Ok(PatientQuery::Reference("BK-7F3".into()))
        );
        assert_eq!(
            PatientQuery::parse("(602) 555-01"),
            Ok(PatientQuery::Words(vec!["60255501".into()]))
        );
        assert_eq!(
            PatientQuery::parse("García ana"),
            Ok(PatientQuery::Words(vec!["garcia".into(), "ana".into()]))
        );
        assert_eq!(
            PatientQuery::parse("Zoë"),
            Ok(PatientQuery::Words(vec!["zoe".into()]))
        );
        assert_eq!(
            PatientQuery::parse("Иван"),
            Ok(PatientQuery::Words(vec!["иван".into()]))
        );
        assert!(PatientQuery::parse("a").is_err());
        assert!(PatientQuery::parse("  ").is_err());
    }

    #[test]
    fn a_prefix_range_holds_its_words_only() {
        let end = prefix_end("gar");
        assert!("garcia" < end.as_str() && "gar" <= "garcia");
        assert!("gas" > end.as_str());
    }
}
