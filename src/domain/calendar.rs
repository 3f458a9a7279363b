//! The calendar the clinic works in. Every date and instant the API accepts lies between
//! 1900-01-01 and 2199-12-31: far beyond any visit, birth date or report a clinic needs, and far
//! inside what both databases and chrono can hold, so date arithmetic on an accepted value never
//! overflows and stored timestamps always sort as text (four-digit years, no sign).

use chrono::{DateTime, NaiveDate, Utc};

/// The first date the API accepts.
pub const EARLIEST: NaiveDate = match NaiveDate::from_ymd_opt(1900, 1, 1) {
    Some(date) => date,
    None => NaiveDate::MIN,
};

/// The last date the API accepts.
pub const LATEST: NaiveDate = match NaiveDate::from_ymd_opt(2199, 12, 31) {
    Some(date) => date,
    None => NaiveDate::MAX,
};

/// How a refusal names the range.
pub(crate) const RANGE: &str = "from 1900-01-01 to 2199-12-31";

/// An IANA time zone name as the API writes the clinic's (`America/Phoenix`, `Etc/GMT+7`, `UTC`),
/// as a JSON Schema pattern: every name chrono-tz knows matches it.
pub const TIME_ZONE_PATTERN: &str = "^[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*$";

/// A date as the API writes it, `YYYY-MM-DD`, within the range.
pub fn parse_date(value: &str) -> Result<NaiveDate, String> {
    let value = value.trim();
    // Four-digit years only: chrono also reads signed and longer years ("+262142-12-31").
    let plain = value.len() == 10 && value.bytes().next().is_some_and(|b| b.is_ascii_digit());
    let date = NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .filter(|_| plain)
        .ok_or_else(|| format!("must be a date as YYYY-MM-DD, {RANGE}"))?;
    check_date(date)
}

/// `date`, if it lies within the range.
pub fn check_date(date: NaiveDate) -> Result<NaiveDate, String> {
    if (EARLIEST..=LATEST).contains(&date) {
        Ok(date)
    } else {
        Err(format!("must be a date {RANGE}"))
    }
}

/// `instant`, if its UTC date lies within the range.
pub fn check_instant(instant: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    check_date(instant.date_naive())
        .map(|_| instant)
        .map_err(|_| format!("must be an instant {RANGE}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_four_digit_years_in_range_are_dates() {
        assert!(parse_date("1900-01-01").is_ok());
        assert!(parse_date(" 2199-12-31 ").is_ok());
        for refused in [
            "1899-12-31",
            "2200-01-01",
            "+262142-12-31",
            "-0001-01-01",
            "+2026-01-01",
            "12026-01-01",
            "2026-1-1",
            "2026-02-30",
        ] {
            assert!(parse_date(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn every_time_zone_name_matches_the_pattern() {
        let pattern = regex::Regex::new(TIME_ZONE_PATTERN).unwrap();
        for zone in chrono_tz::TZ_VARIANTS {
            assert!(pattern.is_match(zone.name()), "{}", zone.name());
        }
        for refused in [
            "",
            "/UTC",
            "America/",
            "America//Phoenix",
            "UTC+7:00",
            "Europe/Berlin ",
        ] {
            assert!(!pattern.is_match(refused), "{refused:?}");
        }
    }

    #[test]
    fn instants_outside_the_range_are_refused() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert!(check_instant(at("2026-12-01T09:00:00Z")).is_ok());
        assert!(check_instant(at("2199-12-31T23:59:59Z")).is_ok());
        assert!(check_instant(at("2200-01-01T00:00:00Z")).is_err());
        assert!(check_instant(at("1899-12-31T23:59:59Z")).is_err());
    }
}
