//! Slots and the windows patients look for them in, in the clinic's time zone.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use super::calendar;

/// The longest a slot may last (a working day). Overlap checks rely on it: a slot that overlaps
/// `[start, end)` starts after `start - LONGEST_SLOT_HOURS`, so they never scan a provider's
/// whole history.
pub const LONGEST_SLOT_HOURS: i64 = 12;

/// The longest window a slot search may cover.
pub(crate) const MAX_WINDOW_DAYS: i64 = 62;

#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum SlotStatus {
    Free,
    Busy,
    Blocked,
}

impl SlotStatus {
    pub const ALL: [SlotStatus; 3] = [Self::Free, Self::Busy, Self::Blocked];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Free => "free",
            Self::Busy => "busy",
            Self::Blocked => "blocked",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Free, Self::Busy, Self::Blocked]
            .into_iter()
            .find(|s| s.as_str() == value)
    }
}

/// A half-open interval of instants `[start, end)`, start before end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

impl TimeWindow {
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Self, String> {
        if end <= start {
            return Err("`to` must be after `from`".into());
        }
        Ok(Self { start, end })
    }

    /// A search window: at most `MAX_WINDOW_DAYS` long.
    pub(crate) fn search(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Self, String> {
        let window = Self::new(start, end)?;
        if end - start > Duration::days(MAX_WINDOW_DAYS) {
            return Err(format!(
                "the window from `from` to `to` must be at most {MAX_WINDOW_DAYS} days"
            ));
        }
        Ok(window)
    }

    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }
}

/// Reads an instant the way the API accepts one: an RFC 3339 instant, or a date meaning the start
/// of that day in the clinic's time zone.
pub(crate) fn parse_instant(value: &str, tz: Tz) -> Result<DateTime<Utc>, String> {
    let value = value.trim();
    if let Ok(instant) = DateTime::parse_from_rfc3339(value) {
        return calendar::check_instant(instant.with_timezone(&Utc));
    }
    let date = calendar::parse_date(value).map_err(|e| {
        if e.starts_with("must be a date as") {
            format!(
                "must be a date (YYYY-MM-DD) or an RFC 3339 instant, {}",
                calendar::RANGE
            )
        } else {
            e
        }
    })?;
    start_of_local_day(date, tz).ok_or_else(|| "is out of range".to_string())
}

/// The first instant of a local calendar day (midnight, or the first time after a DST gap).
pub(crate) fn start_of_local_day(date: NaiveDate, tz: Tz) -> Option<DateTime<Utc>> {
    let midnight = date.and_hms_opt(0, 0, 0)?;
    (0..=180).step_by(30).find_map(|minutes| {
        let local = midnight.checked_add_signed(Duration::minutes(minutes))?;
        tz.from_local_datetime(&local)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_mean_local_midnight() {
        let phoenix: Tz = "America/Phoenix".parse().unwrap();
        let t = parse_instant("2026-12-01", phoenix).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-12-01T07:00:00+00:00");
        let t = parse_instant("2026-12-01T09:00:00-07:00", phoenix).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-12-01T16:00:00+00:00");
        assert!(parse_instant("tomorrow", phoenix).is_err());
    }

    #[test]
    fn windows_are_ordered_and_bounded() {
        let a = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        assert!(TimeWindow::search(a, a).is_err());
        assert!(TimeWindow::search(a, a - Duration::days(1)).is_err());
        assert!(TimeWindow::search(a, a + Duration::days(62)).is_ok());
        assert!(TimeWindow::search(a, a + Duration::days(62) + Duration::seconds(1)).is_err());
    }
}
