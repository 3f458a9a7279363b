//! The waitlist's vocabulary: an entry's public reference, what a patient
//! asks for (dates, days of the week, parts of the day), and where entries and offers stand.

use std::fmt;

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike, Weekday};

use super::booking::{parse_code, random_code};

const REFERENCE_PREFIX: &str = "WL-";

/// The public name of a waitlist entry, e.g. `WL-7Q2M9XA4KD`, made like a booking's.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WaitlistReference(String);

impl WaitlistReference {
    pub const PATTERN: &str = "^WL-[0-9A-HJKMNP-TV-Z]{10}$";

    pub(crate) fn generate() -> Self {
        Self(random_code(REFERENCE_PREFIX))
    }

    pub fn parse(value: &str) -> Option<Self> {
        parse_code(value, REFERENCE_PREFIX).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WaitlistReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where an entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum EntryStatus {
    /// Made on the website; counts once the patient opens the verification link.
    Unverified,
    /// On the list: freed time that matches is offered to it.
    Waiting,
    /// An offer was taken: the patient has their visit.
    Booked,
    /// The patient (or staff) took it off the list.
    Removed,
}

impl EntryStatus {
    pub const ALL: [Self; 4] = [Self::Unverified, Self::Waiting, Self::Booked, Self::Removed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unverified => "unverified",
            Self::Waiting => "waiting",
            Self::Booked => "booked",
            Self::Removed => "removed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

/// Where an offer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum OfferStatus {
    /// Sent; its time is held for the patient until it expires.
    Offered,
    /// The patient took it: a booking.
    Accepted,
    /// The patient said no; the time went to the next entry.
    Declined,
    /// Nobody answered in time; the time went to the next entry.
    Expired,
}

impl OfferStatus {
    pub const ALL: [Self; 4] = [Self::Offered, Self::Accepted, Self::Declined, Self::Expired];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Offered => "offered",
            Self::Accepted => "accepted",
            Self::Declined => "declined",
            Self::Expired => "expired",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

/// A part of the day, in the visit location's local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayPart {
    /// Before noon.
    Morning,
    /// Noon to 5 pm.
    Afternoon,
    /// From 5 pm.
    Evening,
}

impl DayPart {
    pub const ALL: [Self; 3] = [Self::Morning, Self::Afternoon, Self::Evening];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Morning => "morning",
            Self::Afternoon => "afternoon",
            Self::Evening => "evening",
        }
    }

    fn of(local: NaiveDateTime) -> Self {
        match local.hour() {
            0..12 => Self::Morning,
            12..17 => Self::Afternoon,
            _ => Self::Evening,
        }
    }

    fn bit(self) -> i32 {
        1 << (self as i32)
    }
}

/// The days of the week as API names, Monday first.
pub const WEEKDAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn weekday_bit(day: Weekday) -> i32 {
    1 << day.num_days_from_monday()
}

/// When a patient can come: a span of local dates, days of the week and parts of the day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preferences {
    earliest: NaiveDate,
    latest: NaiveDate,
    /// Bit 0 Monday ... bit 6 Sunday, as stored.
    weekdays: i32,
    /// Bit 0 morning, 1 afternoon, 2 evening, as stored.
    day_parts: i32,
}

impl Preferences {
    /// The longest span one entry may wait for.
    pub const MAX_DAYS: i64 = 366;

    /// From the request's names; no days or parts means any. Errors name the field.
    pub fn parse(
        (earliest, latest): (NaiveDate, NaiveDate),
        days: &[String],
        parts: &[String],
    ) -> Result<Self, (&'static str, String)> {
        if latest < earliest {
            return Err(("latest_date", "must not be before earliest_date".into()));
        }
        if (latest - earliest).num_days() >= Self::MAX_DAYS {
            return Err((
                "latest_date",
                format!("a waitlist entry spans at most {} days", Self::MAX_DAYS),
            ));
        }
        let mut weekdays = 0;
        for day in days {
            let i = WEEKDAY_NAMES
                .iter()
                .position(|name| name == day)
                .ok_or(("days", format!("{day:?} is not one of {WEEKDAY_NAMES:?}")))?;
            weekdays |= 1 << i;
        }
        let mut day_parts = 0;
        for part in parts {
            let part = DayPart::ALL
                .into_iter()
                .find(|p| p.as_str() == part)
                .ok_or((
                    "times",
                    format!("{part:?} is not morning, afternoon or evening"),
                ))?;
            day_parts |= part.bit();
        }
        Ok(Self {
            earliest,
            latest,
            weekdays: if weekdays == 0 { 0b111_1111 } else { weekdays },
            day_parts: if day_parts == 0 { 0b111 } else { day_parts },
        })
    }

    /// As stored.
    pub fn from_stored(
        (earliest, latest): (NaiveDate, NaiveDate),
        weekdays: i32,
        day_parts: i32,
    ) -> Self {
        Self {
            earliest,
            latest,
            weekdays,
            day_parts,
        }
    }

    pub fn earliest(&self) -> NaiveDate {
        self.earliest
    }

    pub fn latest(&self) -> NaiveDate {
        self.latest
    }

    pub fn weekdays_stored(&self) -> i32 {
        self.weekdays
    }

    pub fn day_parts_stored(&self) -> i32 {
        self.day_parts
    }

    /// The days asked for, by API name.
    pub fn days(&self) -> Vec<&'static str> {
        WEEKDAY_NAMES
            .iter()
            .enumerate()
            .filter(|(i, _)| self.weekdays & (1 << i) != 0)
            .map(|(_, name)| *name)
            .collect()
    }

    /// The parts of the day asked for, by API name.
    pub fn parts(&self) -> Vec<&'static str> {
        DayPart::ALL
            .into_iter()
            .filter(|p| self.day_parts & p.bit() != 0)
            .map(DayPart::as_str)
            .collect()
    }

    /// Whether a visit starting at `local` (the location's wall clock) is one the patient asked
    /// for.
    pub fn admits(&self, local: NaiveDateTime) -> bool {
        let date = local.date();
        (self.earliest..=self.latest).contains(&date)
            && self.weekdays & weekday_bit(date.weekday()) != 0
            && self.day_parts & DayPart::of(local).bit() != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(date: &str, hour: u32) -> NaiveDateTime {
        NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .unwrap()
            .and_hms_opt(hour, 0, 0)
            .unwrap()
    }

    fn dates(a: &str, b: &str) -> (NaiveDate, NaiveDate) {
        (
            NaiveDate::parse_from_str(a, "%Y-%m-%d").unwrap(),
            NaiveDate::parse_from_str(b, "%Y-%m-%d").unwrap(),
        )
    }

    #[test]
    fn preferences_admit_only_the_dates_days_and_parts_asked_for() {
        let prefs = Preferences::parse(
            dates("2027-01-04", "2027-01-17"),
            &["mon".into(), "wed".into()],
            &["morning".into()],
        )
        .unwrap();
        // Monday 4 January 2027, 9 am: yes; 1 pm: not a morning; Tuesday: not asked for.
        assert!(prefs.admits(at("2027-01-04", 9)));
        assert!(!prefs.admits(at("2027-01-04", 13)));
        assert!(!prefs.admits(at("2027-01-05", 9)));
        assert!(prefs.admits(at("2027-01-06", 11)));
        // Outside the dates.
        assert!(!prefs.admits(at("2027-01-18", 9)));
        assert!(!prefs.admits(at("2027-01-03", 9)));
        assert_eq!(prefs.days(), ["mon", "wed"]);
        assert_eq!(prefs.parts(), ["morning"]);
        let stored = Preferences::from_stored(
            (prefs.earliest(), prefs.latest()),
            prefs.weekdays_stored(),
            prefs.day_parts_stored(),
        );
        assert_eq!(stored, prefs);
    }

    #[test]
    fn no_days_or_parts_means_any_and_bad_names_are_refused() {
        let any = Preferences::parse(dates("2027-01-04", "2027-01-04"), &[], &[]).unwrap();
        assert!(any.admits(at("2027-01-04", 0)));
        assert!(any.admits(at("2027-01-04", 12)));
        assert!(any.admits(at("2027-01-04", 17)));
        assert_eq!(any.days().len(), 7);
        let refused = |days: &[&str], parts: &[&str], span: (&str, &str)| {
            let days: Vec<String> = days.iter().map(|d| d.to_string()).collect();
            let parts: Vec<String> = parts.iter().map(|d| d.to_string()).collect();
            Preferences::parse(dates(span.0, span.1), &days, &parts)
                .unwrap_err()
                .0
        };
        assert_eq!(
            refused(&["monday"], &[], ("2027-01-04", "2027-01-05")),
            "days"
        );
        assert_eq!(
            refused(&[], &["noon"], ("2027-01-04", "2027-01-05")),
            "times"
        );
        assert_eq!(
            refused(&[], &[], ("2027-01-05", "2027-01-04")),
            "latest_date"
        );
        assert_eq!(
            refused(&[], &[], ("2027-01-01", "2028-01-02")),
            "latest_date"
        );
    }

    #[test]
    fn references_read_back_as_typed() {
        let reference = WaitlistReference::generate();
        assert!(regex::Regex::new(WaitlistReference::PATTERN)
            .unwrap()
            .is_match(reference.as_str()));
        assert_eq!(
            WaitlistReference::parse(&reference.as_str().to_lowercase()),
            Some(reference)
        );
    }
}
