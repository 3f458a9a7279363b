//! A booking's identity (its public reference), where it came from, and its life cycle.

use std::fmt;

use rand::Rng;

use super::clean_text;

/// Crockford's base32 alphabet: no I, L, O or U, so a reference read over the phone is unambiguous.
const REFERENCE_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const REFERENCE_LEN: usize = 10;
const REFERENCE_PREFIX: &str = "BK-";

/// The public name of a booking, e.g. `BK-7Q2M9XA4KD`: 50 random bits, never a row id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BookingReference(String);

impl BookingReference {
    pub(crate) fn generate() -> Self {
        let mut rng = rand::rng();
        let code: String = (0..REFERENCE_LEN)
            .map(|_| REFERENCE_ALPHABET[rng.random_range(0..REFERENCE_ALPHABET.len())] as char)
            .collect();
        Self(format!("{REFERENCE_PREFIX}{code}"))
    }

    /// Accepts a reference as typed: case-insensitive, surrounding space ignored.
    pub fn parse(value: &str) -> Option<Self> {
        let upper = value.trim().to_ascii_uppercase();
        let code = upper.strip_prefix(REFERENCE_PREFIX)?;
        let valid =
            code.len() == REFERENCE_LEN && code.bytes().all(|b| REFERENCE_ALPHABET.contains(&b));
        valid.then_some(Self(upper))
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
}

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
