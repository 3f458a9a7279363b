//! A course of care's dates: the same weekday and local wall-clock time every few weeks, in the
//! clinic's time zone, so a series that crosses a daylight-saving change keeps its local time
//! (its UTC instants move by the hour instead).

use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

pub const MIN_VISITS: i64 = 2;
pub const MAX_VISITS: i64 = 12;
pub const MAX_INTERVAL_WEEKS: i64 = 4;

/// One visit of a planned series: its local wall-clock start, and the instant that is, unless the
/// time does not exist that day (skipped by a daylight-saving change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    pub local: NaiveDateTime,
    pub instant: Option<DateTime<Utc>>,
}

/// `count` visits from `first` (an instant), every `interval_weeks`, at the first visit's local
/// time in `tz`. An ambiguous local time (the hour repeated in autumn) is its earlier instant.
pub fn occurrences(
    first: DateTime<Utc>,
    tz: Tz,
    count: i64,
    interval_weeks: i64,
) -> Vec<Occurrence> {
    let local_first = first.with_timezone(&tz).naive_local();
    (0..count)
        .filter_map(|k| {
            let local = local_first.checked_add_signed(Duration::weeks(k * interval_weeks))?;
            let instant = tz
                .from_local_datetime(&local)
                .earliest()
                .map(|t| t.with_timezone(&Utc));
            Some(Occurrence { local, instant })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_weekly_series_keeps_its_local_time_across_a_dst_change() {
        let new_york: Tz = "America/New_York".parse().unwrap();
        // Mondays at 09:00 New York time, from 2027-03-01 (EST, -05:00); DST starts 2027-03-14.
        let first = Utc.with_ymd_and_hms(2027, 3, 1, 14, 0, 0).unwrap();
        let visits = occurrences(first, new_york, 3, 1);
        let utc: Vec<String> = visits
            .iter()
            .map(|o| o.instant.unwrap().format("%m-%d %H:%M").to_string())
            .collect();
        assert_eq!(utc, ["03-01 14:00", "03-08 14:00", "03-15 13:00"]);
        assert!(visits
            .iter()
            .all(|o| o.local.format("%H:%M").to_string() == "09:00"));
    }

    #[test]
    fn a_local_time_the_clock_skips_has_no_instant() {
        let new_york: Tz = "America/New_York".parse().unwrap();
        // Sundays at 02:30: on 2027-03-14 the clocks jump from 02:00 to 03:00.
        let first = new_york
            .with_ymd_and_hms(2027, 3, 7, 2, 30, 0)
            .unwrap()
            .with_timezone(&Utc);
        let visits = occurrences(first, new_york, 3, 1);
        assert!(visits[0].instant.is_some());
        assert_eq!(visits[1].instant, None);
        assert!(visits[2].instant.is_some());
    }

    #[test]
    fn every_other_week() {
        let phoenix: Tz = "America/Phoenix".parse().unwrap();
        let first = Utc.with_ymd_and_hms(2027, 3, 1, 16, 0, 0).unwrap();
        let visits = occurrences(first, phoenix, 4, 2);
        assert_eq!(visits.len(), 4);
        assert_eq!(
            visits[3].instant.unwrap() - visits[0].instant.unwrap(),
            Duration::weeks(6)
        );
    }
}
