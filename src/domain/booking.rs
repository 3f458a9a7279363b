//! A booking's identity (its public reference), where it came from, and its life cycle.

use std::fmt;

use chrono::{Duration, NaiveDateTime};
use rand::Rng;

use super::clean_text;

/// Crockford's base32 alphabet: no I, L, O or U, so a reference read over the phone is unambiguous.
const REFERENCE_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const REFERENCE_LEN: usize = 10;
const REFERENCE_PREFIX: &str = "BK-";

pub(super) fn random_code(prefix: &str) -> String {
    let mut rng = rand::rng();
    let code: String = (0..REFERENCE_LEN)
        .map(|_| REFERENCE_ALPHABET[rng.random_range(0..REFERENCE_ALPHABET.len())] as char)
        .collect();
    format!("{prefix}{code}")
}

/// A reference as typed: case-insensitive, surrounding space ignored.
pub(super) fn parse_code(value: &str, prefix: &str) -> Option<String> {
    let upper = value.trim().to_ascii_uppercase();
    let code = upper.strip_prefix(prefix)?;
    let valid =
        code.len() == REFERENCE_LEN && code.bytes().all(|b| REFERENCE_ALPHABET.contains(&b));
    valid.then_some(upper)
}

/// The public name of a booking, e.g. `BK-7Q2M9XA4KD`: 50 random bits, never a row id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BookingReference(String);

impl BookingReference {
    /// A reference as the API writes it, as a JSON Schema pattern: `BK-` and ten characters of
    /// the alphabet.
    pub const PATTERN: &str = "^BK-[0-9A-HJKMNP-TV-Z]{10}$";

    /// A reference as `parse` takes it: in either case, with white space around.
    pub const TYPED_PATTERN: &str = r"^\s*[Bb][Kk]-[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{10}\s*$";

    pub(crate) fn generate() -> Self {
        Self(random_code(REFERENCE_PREFIX))
    }

    /// Accepts a reference as typed: case-insensitive, surrounding space ignored.
    pub fn parse(value: &str) -> Option<Self> {
        parse_code(value, REFERENCE_PREFIX).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BookingReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

const SERIES_PREFIX: &str = "CS-";

/// The public name of a course of care, e.g. `CS-4HX9T2MB7Q`, made like a booking's.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SeriesReference(String);

impl SeriesReference {
    pub(crate) fn generate() -> Self {
        Self(random_code(SERIES_PREFIX))
    }

    pub fn parse(value: &str) -> Option<Self> {
        parse_code(value, SERIES_PREFIX).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum BookingStatus {
    Booked,
    Arrived,
    Completed,
    Cancelled,
    NoShow,
}

impl BookingStatus {
    pub const ALL: [BookingStatus; 5] = [
        Self::Booked,
        Self::Arrived,
        Self::Completed,
        Self::Cancelled,
        Self::NoShow,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Booked => "booked",
            Self::Arrived => "arrived",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
            Self::NoShow => "no_show",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }

    /// The states this one may move to: `booked → arrived → completed`, `booked → no_show`,
    /// `booked → cancelled`.
    pub(crate) fn next_states(self) -> &'static [BookingStatus] {
        match self {
            Self::Booked => &[Self::Arrived, Self::Cancelled, Self::NoShow],
            Self::Arrived => &[Self::Completed],
            Self::Completed | Self::Cancelled | Self::NoShow => &[],
        }
    }

    pub(crate) fn can_become(self, next: BookingStatus) -> bool {
        self.next_states().contains(&next)
    }

    /// The states this one may move to at `now`, for a visit that starts at `starts_at`: the
    /// life cycle's steps, less those the clock does not allow yet or any more.
    pub fn next_states_at(self, starts_at: NaiveDateTime, now: NaiveDateTime) -> Vec<Self> {
        self.next_states()
            .iter()
            .copied()
            .filter(|next| next.refused_at(starts_at, now).is_none())
            .collect()
    }

    /// Why the clock refuses moving to this state now, if it does: a patient is checked in
    /// (`arrived`) from `CHECK_IN_HOURS` before the visit starts until as long after, and a
    /// visit is a `no_show` only once it has started.
    pub fn refused_at(self, starts_at: NaiveDateTime, now: NaiveDateTime) -> Option<&'static str> {
        let window = Duration::hours(CHECK_IN_HOURS);
        let check_in = starts_at.checked_sub_signed(window)..=starts_at.checked_add_signed(window);
        match self {
            Self::Arrived
                if check_in.start().is_some_and(|from| now < from)
                    || check_in.end().is_some_and(|until| now > until) =>
            {
                Some("a patient can be checked in from 12 hours before the visit starts until 12 hours after it")
            }
            Self::NoShow if now < starts_at => {
                Some("a visit can be marked no_show only once it has started")
            }
            _ => None,
        }
    }
}

/// How long before and after its start a visit's patient can be checked in.
pub const CHECK_IN_HOURS: i64 = 12;

impl fmt::Display for BookingStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a booking came from: `website`, `front_desk`, `schedule_cta`, or an article's slug.
#[derive(Debug, Clone, PartialEq, Eq, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub struct BookingSource(String);

impl BookingSource {
    /// A source as stored and shown (`from_stored`), as a JSON Schema pattern.
    pub const PATTERN: &str = "^[a-z0-9_-]{1,64}$";

    /// A source a form may name, as `parse_public` takes it (white space around is trimmed);
    /// `front_desk`, which it also admits, is refused beyond it.
    pub const PUBLIC_PATTERN: &str = r"^\s*[a-z0-9_-]{1,64}\s*$";

    pub const WEBSITE: &'static str = "website";
    pub(crate) const FRONT_DESK: &'static str = "front_desk";
    pub(crate) const SCHEDULE_CTA: &'static str = "schedule_cta";

    /// A source a patient may name: a slug of lowercase letters, digits, `-` and `_`, at most 64
    /// characters. `front_desk` is reserved for staff.
    pub(crate) fn parse_public(value: &str) -> Result<Self, String> {
        let slug = value.trim();
        if slug.is_empty() || slug.len() > 64 {
            return Err("source must be 1 to 64 characters".into());
        }
        if !slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return Err("source must be a slug of lowercase letters, digits, '-' and '_'".into());
        }
        if slug == Self::FRONT_DESK {
            return Err("source front_desk is reserved for staff bookings".into());
        }
        Ok(Self(slug.to_owned()))
    }

    /// A source as stored: any public one, or `front_desk`.
    pub(crate) fn from_stored(value: &str) -> Option<Self> {
        if value == Self::FRONT_DESK {
            return Some(Self::named(Self::FRONT_DESK));
        }
        Self::parse_public(value).ok().filter(|s| s.0 == value)
    }

    pub fn named(value: &'static str) -> Self {
        Self(value.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The patient's reason for the visit, free text up to 1000 characters.
pub(crate) fn parse_reason(value: &str) -> Result<Option<String>, String> {
    let reason = clean_text(value, 1000, "reason")?;
    Ok((!reason.is_empty()).then_some(reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_round_trip_and_are_not_sequential() {
        let a = BookingReference::generate();
        let b = BookingReference::generate();
        assert_ne!(a, b);
        assert_eq!(BookingReference::parse(a.as_str()), Some(a.clone()));
        assert_eq!(BookingReference::parse(&a.as_str().to_lowercase()), Some(a));
        assert_eq!(BookingReference::parse("BK-1"), None);
        assert_eq!(BookingReference::parse("BK-IIIIIIIIII"), None);
        assert_eq!(BookingReference::parse("42"), None);
    }

    #[test]
    fn transitions_follow_the_clinic_day() {
        use BookingStatus::*;
        assert!(Booked.can_become(Arrived));
        assert!(Arrived.can_become(Completed));
        assert!(Booked.can_become(NoShow));
        assert!(Booked.can_become(Cancelled));
        assert!(!Arrived.can_become(Cancelled));
        assert!(!Cancelled.can_become(Booked));
        assert!(!Completed.can_become(Arrived));
        for s in BookingStatus::ALL {
            assert_eq!(BookingStatus::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn public_sources_are_slugs_and_not_front_desk() {
        assert!(BookingSource::parse_public("stress-back-pain").is_ok());
        assert!(BookingSource::parse_public("front_desk").is_err());
        assert!(BookingSource::parse_public("Robert'); DROP TABLE").is_err());
        assert!(BookingSource::parse_public("").is_err());
    }
}

/// The OpenAPI document's patterns for references and sources admit exactly what the parsers
/// accept, and what the API writes.
#[cfg(test)]
mod patterns {
    use proptest::prelude::*;
    use regex::Regex;

    use super::*;

    fn config() -> ProptestConfig {
        let mut config = ProptestConfig::with_cases(1000);
        config.failure_persistence = None;
        config
    }

    fn padded(text: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
        let space = || prop::sample::select(vec!["", "", " ", "\t", "\u{a0}", "\u{3000}"]);
        (space(), text, space()).prop_map(|(a, text, b)| format!("{a}{text}{b}"))
    }

    fn references() -> impl Strategy<Value = String> {
        padded(prop_oneof![
            4 => "[Bb][Kk]-[0-9A-Za-z]{10}",
            1 => "[BbKk-]{0,4}[0-9A-Za-z]{8,12}",
            1 => any::<String>(),
        ])
    }

    fn sources() -> impl Strategy<Value = String> {
        padded(prop_oneof![
            4 => "[a-z0-9_-]{0,66}",
            1 => "[a-zA-Z0-9_ .-]{1,10}",
            1 => Just(BookingSource::FRONT_DESK.to_owned()),
            1 => any::<String>(),
        ])
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn the_reference_patterns_admit_exactly_what_is_accepted(text in references()) {
            let typed = Regex::new(BookingReference::TYPED_PATTERN).unwrap();
            let written = Regex::new(BookingReference::PATTERN).unwrap();
            let parsed = BookingReference::parse(&text);
            prop_assert_eq!(typed.is_match(&text), parsed.is_some(), "{:?}", text);
            if let Some(reference) = &parsed {
                prop_assert!(written.is_match(reference.as_str()), "{:?}", reference);
            }
            if written.is_match(&text) {
                prop_assert_eq!(parsed.map(|r| r.0), Some(text.clone()));
            }
        }

        #[test]
        fn the_source_patterns_admit_exactly_what_is_accepted(text in sources()) {
            let public = Regex::new(BookingSource::PUBLIC_PATTERN).unwrap();
            let stored = Regex::new(BookingSource::PATTERN).unwrap();
            let parsed = BookingSource::parse_public(&text);
            let reserved = text.trim() == BookingSource::FRONT_DESK;
            prop_assert_eq!(public.is_match(&text) && !reserved, parsed.is_ok(), "{:?}", text);
            prop_assert_eq!(stored.is_match(&text), BookingSource::from_stored(&text).is_some());
        }
    }

    #[test]
    fn generated_references_and_named_sources_match() {
        let written = Regex::new(BookingReference::PATTERN).unwrap();
        for _ in 0..1000 {
            let reference = BookingReference::generate();
            assert!(written.is_match(reference.as_str()), "{reference}");
        }
        let stored = Regex::new(BookingSource::PATTERN).unwrap();
        for named in [
            BookingSource::WEBSITE,
            BookingSource::FRONT_DESK,
            BookingSource::SCHEDULE_CTA,
        ] {
            assert!(stored.is_match(named), "{named}");
        }
    }
}

/// The booking life cycle as an explicit table: each state's next states exactly as listed (so a
/// changed transition fails here), terminal states, no self-transitions or way back, every state
/// reachable from `booked`, and the names stored in the database round-tripping.
#[cfg(test)]
mod life_cycle {
    use std::collections::HashSet;

    use super::BookingStatus::{self, *};

    /// Every state and exactly the states it may become, in the order `next_states` gives them.
    const TRANSITIONS: [(BookingStatus, &[BookingStatus]); 5] = [
        (Booked, &[Arrived, Cancelled, NoShow]),
        (Arrived, &[Completed]),
        (Completed, &[]),
        (Cancelled, &[]),
        (NoShow, &[]),
    ];

    /// Fails to compile when a state is added, so `ALL` and the table above get revisited.
    fn listed(status: BookingStatus) -> bool {
        match status {
            Booked | Arrived | Completed | Cancelled | NoShow => {
                TRANSITIONS.iter().any(|(s, _)| *s == status)
                    && BookingStatus::ALL.contains(&status)
            }
        }
    }

    #[test]
    fn all_lists_every_state_once_and_the_table_covers_them() {
        let all: HashSet<&str> = BookingStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            all.len(),
            BookingStatus::ALL.len(),
            "a state is listed twice"
        );
        assert_eq!(TRANSITIONS.len(), BookingStatus::ALL.len());
        assert!(BookingStatus::ALL.into_iter().all(listed));
    }

    #[test]
    fn next_states_are_exactly_the_table() {
        for (status, next) in TRANSITIONS {
            assert_eq!(status.next_states(), next, "next states of {status}");
        }
    }

    #[test]
    fn can_become_agrees_with_the_table_for_every_pair() {
        for (from, next) in TRANSITIONS {
            for to in BookingStatus::ALL {
                assert_eq!(from.can_become(to), next.contains(&to), "{from} → {to}");
            }
        }
    }

    #[test]
    fn completed_cancelled_and_no_show_are_terminal() {
        let terminal: Vec<BookingStatus> = BookingStatus::ALL
            .into_iter()
            .filter(|s| s.next_states().is_empty())
            .collect();
        assert_eq!(terminal, [Completed, Cancelled, NoShow]);
        for end in terminal {
            assert!(BookingStatus::ALL.iter().all(|s| !end.can_become(*s)));
        }
    }

    #[test]
    fn no_state_becomes_itself_and_nothing_returns_to_booked() {
        for status in BookingStatus::ALL {
            assert!(!status.can_become(status), "{status} → {status}");
            assert!(!status.can_become(Booked), "{status} → booked");
        }
    }

    /// Every path from `booked`: together they reach every state, and none comes back to a state
    /// already on it (the life cycle only moves forward).
    #[test]
    fn every_state_is_reachable_from_booked_and_none_twice_on_a_path() {
        fn paths_from(path: Vec<BookingStatus>, out: &mut Vec<Vec<BookingStatus>>) {
            let last = *path.last().expect("a path has a state");
            for next in last.next_states() {
                assert!(!path.contains(next), "a cycle: {path:?} → {next}");
                let mut longer = path.clone();
                longer.push(*next);
                paths_from(longer, out);
            }
            out.push(path);
        }
        let mut paths = Vec::new();
        paths_from(vec![Booked], &mut paths);
        let reached: HashSet<&str> = paths.iter().flatten().map(|s| s.as_str()).collect();
        let all: HashSet<&str> = BookingStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(reached, all);
    }

    #[test]
    fn stored_names_round_trip_and_nothing_else_parses() {
        let names: Vec<&str> = BookingStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            ["booked", "arrived", "completed", "cancelled", "no_show"]
        );
        for status in BookingStatus::ALL {
            assert_eq!(BookingStatus::parse(status.as_str()), Some(status));
            assert_eq!(status.to_string(), status.as_str());
            let name = status.as_str();
            for near in [
                name.to_uppercase(),
                format!(" {name}"),
                format!("{name} "),
                name.replace('_', "-"),
                name.replace('_', " "),
            ] {
                if near != name {
                    assert_eq!(BookingStatus::parse(&near), None, "{near:?}");
                }
            }
        }
        for unknown in ["", "canceled", "noshow", "done", "pending"] {
            assert_eq!(BookingStatus::parse(unknown), None, "{unknown:?}");
        }
    }
}
