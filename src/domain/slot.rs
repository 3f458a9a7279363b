//! Slots and the windows patients look for them in, in the clinic's time zone.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
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

/// What `parse_instant` accepts, as a JSON Schema pattern (ECMA-262, and read alike by Rust's
/// `regex` and Python's `re`): an RFC 3339 instant as chrono reads it (`T`, `t` or a space between
/// date and time, any fraction of a second, `Z`, `z` or an offset whose minus may be U+2212),
/// or a date whose month and day chrono also reads with one digit after white space
/// (`2026- 1-05`, within ten characters); white space around either is trimmed. The range
/// (1900 to 2199) and the calendar (no February 30th) are checked beyond it.
pub const INSTANT_OR_DATE_PATTERN: &str = concat!(
    r"^\s*(?:[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?",
    r"(?:[Zz]|[+\u2212-][0-9]{2}:[0-9]{2})|[0-9]{4}-\s*[0-9]{1,2}-\s*[0-9]{1,2})\s*$"
);

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

/// A slot's span, `[start, end)`.
pub type Span = (NaiveDateTime, NaiveDateTime);

/// How many slots, from the first of `run` on, a visit holding `need` of the provider's time
/// takes: the shortest prefix of back-to-back slots (each starting where the one before ends)
/// that lasts at least `need`. `None` when the run breaks (a gap, a break, the day's end) or ends
/// first. `run` is one provider's slots in order of start.
pub fn covering_prefix(run: &[Span], need: Duration) -> Option<usize> {
    let (first_start, _) = *run.first()?;
    let until = first_start.checked_add_signed(need)?;
    let mut reached = first_start;
    for (taken, &(start, end)) in run.iter().enumerate() {
        if start != reached {
            return None;
        }
        reached = end;
        if reached >= until {
            return Some(taken + 1);
        }
    }
    None
}

/// How far a walk by start has read one provider's slots: those starting before `start`, and
/// those starting at it too when `inclusive`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadUpTo {
    pub start: NaiveDateTime,
    pub inclusive: bool,
}

impl ReadUpTo {
    fn has_read(self, start: NaiveDateTime) -> bool {
        start < self.start || (self.inclusive && start == self.start)
    }
}

/// Whether a visit fits from the first slot of `run`, when the provider's slots have been read
/// only up to `read` (`None`: all have).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// It fits, holding this many slots.
    Fits(usize),
    /// It does not: the run breaks before the visit ends.
    Cut,
    /// The run reaches the end of what was read unbroken: the slots after it decide.
    Unknown,
}

/// As `covering_prefix`, for a run read only up to `read`.
pub fn fit_so_far(run: &[Span], need: Duration, read: Option<ReadUpTo>) -> Fit {
    if let Some(taken) = covering_prefix(run, need) {
        return Fit::Fits(taken);
    }
    // Where the back-to-back stretch from the first slot ends among the slots read.
    let mut reached = match run.first() {
        Some(&(start, _)) => start,
        None => return Fit::Cut,
    };
    for &(start, end) in run {
        if start != reached {
            return Fit::Cut;
        }
        reached = end;
    }
    // The slot that would continue it starts at `reached`: missing, unless not read yet.
    match read {
        Some(read) if !read.has_read(reached) => Fit::Unknown,
        _ => Fit::Cut,
    }
}

/// The indexes in `free` (one provider's free slots, in order of start) from which a visit
/// holding `need` fits: back-to-back free slots from there last at least `need`. One pass, with
/// the end of the back-to-back stretch each slot belongs to carried from the right. The reference
/// the walk of `clinic::openings` is tested against.
#[cfg(test)]
pub fn fitting_starts(free: &[Span], need: Duration) -> Vec<usize> {
    let mut stretch_end = vec![None; free.len()];
    let mut reach: Option<NaiveDateTime> = None;
    for (i, &(_, end)) in free.iter().enumerate().rev() {
        let continues = free.get(i + 1).is_some_and(|&(next, _)| next == end);
        let here = if continues { reach.unwrap_or(end) } else { end };
        stretch_end[i] = Some(here);
        reach = Some(here);
    }
    free.iter()
        .zip(stretch_end)
        .enumerate()
        .filter(|(_, (&(start, _), reach))| {
            start
                .checked_add_signed(need)
                .is_some_and(|until| reach.is_some_and(|r| r >= until))
        })
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(minutes: &[(i64, i64)]) -> Vec<Span> {
        let day = NaiveDate::from_ymd_opt(2027, 3, 1)
            .and_then(|d| d.and_hms_opt(8, 0, 0))
            .unwrap();
        minutes
            .iter()
            .map(|&(a, b)| (day + Duration::minutes(a), day + Duration::minutes(b)))
            .collect()
    }

    #[test]
    fn a_visit_takes_the_back_to_back_slots_that_cover_it() {
        let quarter_hours = spans(&[(0, 15), (15, 30), (30, 45), (45, 60), (75, 90)]);
        let need = |m| Duration::minutes(m);
        assert_eq!(covering_prefix(&quarter_hours, need(15)), Some(1));
        assert_eq!(covering_prefix(&quarter_hours, need(20)), Some(2));
        assert_eq!(covering_prefix(&quarter_hours, need(60)), Some(4));
        // The gap from 60 to 75 ends the run.
        assert_eq!(covering_prefix(&quarter_hours, need(75)), None);
        assert_eq!(covering_prefix(&quarter_hours[4..], need(30)), None);
        assert_eq!(covering_prefix(&[], need(15)), None);
        // One long slot covers a shorter visit.
        assert_eq!(covering_prefix(&spans(&[(0, 60)]), need(30)), Some(1));
    }

    #[test]
    fn fitting_starts_leave_out_those_the_next_gap_cuts_short() {
        // Free: 8:00-9:00 in quarters, then 9:30-10:00 (9:00-9:30 is taken), then 10:15-10:30.
        let free = spans(&[
            (0, 15),
            (15, 30),
            (30, 45),
            (45, 60),
            (90, 105),
            (105, 120),
            (135, 150),
        ]);
        assert_eq!(fitting_starts(&free, Duration::minutes(60)), [0]);
        assert_eq!(fitting_starts(&free, Duration::minutes(45)), [0, 1]);
        assert_eq!(fitting_starts(&free, Duration::minutes(30)), [0, 1, 2, 4]);
        assert_eq!(fitting_starts(&free, Duration::minutes(15)).len(), 7);
        assert!(fitting_starts(&free, Duration::minutes(75)).is_empty());
        for need in [15, 30, 45, 60, 75] {
            let need = Duration::minutes(need);
            for i in fitting_starts(&free, need) {
                assert!(covering_prefix(&free[i..], need).is_some());
            }
        }
    }

    #[test]
    fn a_fit_waits_for_the_slots_not_yet_read() {
        let day = spans(&[(0, 15), (15, 30), (30, 45), (60, 75)]);
        let need = Duration::minutes(45);
        let at = |m| day[0].0 + Duration::minutes(m);
        let before = |m| {
            Some(ReadUpTo {
                start: at(m),
                inclusive: false,
            })
        };
        let through = |m| {
            Some(ReadUpTo {
                start: at(m),
                inclusive: true,
            })
        };
        assert_eq!(fit_so_far(&day, need, None), Fit::Fits(3));
        // Only the slots before 8:30 read so far: 8:30 may still come.
        assert_eq!(fit_so_far(&day[..2], need, before(30)), Fit::Unknown);
        // Those at 8:30 read too, and this provider has none: the run breaks.
        assert_eq!(fit_so_far(&day[..2], need, through(30)), Fit::Cut);
        assert_eq!(fit_so_far(&day[..2], need, before(45)), Fit::Cut);
        assert_eq!(fit_so_far(&day[..2], need, None), Fit::Cut);
        // A gap among the slots read decides at once.
        assert_eq!(fit_so_far(&day[2..], need, before(600)), Fit::Cut);
        assert_eq!(fit_so_far(&[], need, None), Fit::Cut);
    }

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

/// `INSTANT_OR_DATE_PATTERN` admits every text `parse_instant` accepts.
#[cfg(test)]
mod pattern {
    use proptest::prelude::*;

    use super::*;

    fn config() -> ProptestConfig {
        let mut config = ProptestConfig::with_cases(2000);
        config.failure_persistence = None;
        config
    }

    /// `n` as chrono might read it: zero-padded to `width`, or bare, perhaps after white space.
    fn number(range: std::ops::RangeInclusive<u32>, width: usize) -> impl Strategy<Value = String> {
        let space = prop::sample::select(vec!["", "", " ", "  ", "\t", "\u{a0}"]);
        (range, any::<bool>(), space).prop_map(move |(n, padded, space)| {
            if padded {
                format!("{n:0width$}")
            } else {
                format!("{space}{n}")
            }
        })
    }

    /// Dates and instants written every way chrono reads them, and near misses.
    fn texts() -> impl Strategy<Value = String> {
        let year = prop_oneof![
            8 => (1890u32..=2210).prop_map(|y| y.to_string()),
            1 => (0u32..=99_999).prop_map(|y| y.to_string()),
            1 => (1900u32..=2199).prop_map(|y| format!("+{y}")),
        ];
        let date = (year, number(0..=13, 2), number(0..=32, 2))
            .prop_map(|(y, m, d)| format!("{y}-{m}-{d}"));
        let separator = prop::sample::select(vec!["T", "t", " ", "_", "  "]);
        let fraction = prop_oneof![Just(String::new()), "\\.[0-9]{0,12}"];
        let offset = prop_oneof![
            Just("Z".to_owned()),
            Just("z".to_owned()),
            Just(String::new()),
            Just(" Z".to_owned()),
            (
                prop::sample::select(vec!["+", "-", "\u{2212}"]),
                0u32..=25,
                0u32..=61,
                prop::sample::select(vec![":", "", " "]),
            )
                .prop_map(|(sign, h, m, colon)| format!("{sign}{h:02}{colon}{m:02}")),
        ];
        let time = (
            separator,
            number(0..=25, 2),
            number(0..=61, 2),
            number(0..=61, 2),
            fraction,
            offset,
        )
            .prop_map(|(sep, h, m, s, fraction, offset)| {
                format!("{sep}{h}:{m}:{s}{fraction}{offset}")
            });
        let space = || prop::sample::select(vec!["", "", " ", "\t", "\n", "\u{3000}"]);
        (space(), date, prop::option::of(time), space()).prop_map(|(before, date, time, after)| {
            format!("{before}{date}{}{after}", time.unwrap_or_default())
        })
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn the_pattern_admits_every_accepted_instant_or_date(text in texts()) {
            let pattern = regex::Regex::new(INSTANT_OR_DATE_PATTERN).unwrap();
            let tz: Tz = "America/Phoenix".parse().unwrap();
            if parse_instant(&text, tz).is_ok() {
                prop_assert!(pattern.is_match(&text), "{:?} is accepted", text);
            }
        }
    }

    #[test]
    fn the_pattern_takes_the_usual_forms_and_refuses_others() {
        let pattern = regex::Regex::new(INSTANT_OR_DATE_PATTERN).unwrap();
        let tz: Tz = "America/Phoenix".parse().unwrap();
        for accepted in [
            "2027-03-01",
            " 2027-03-01 ",
            "2027- 3- 1",
            "2027-03-01T09:00:00Z",
            "2027-03-01t09:00:00.123456z",
            "2027-03-01 09:00:00-07:00",
            "2027-03-01T09:00:00\u{2212}07:00",
            "2199-12-31T23:59:59.999999999+00:00",
        ] {
            assert!(parse_instant(accepted, tz).is_ok(), "{accepted:?}");
            assert!(pattern.is_match(accepted), "{accepted:?}");
        }
        for refused in [
            "tomorrow",
            "",
            "2027-03",
            "2027-03-01T09:00Z",
            "2027-03-01T09:00:00",
            "2027-03-01T09:00:00+0700",
            "+2027-03-01",
            "2027-03-01T09:00:00 Z",
        ] {
            assert!(parse_instant(refused, tz).is_err(), "{refused:?}");
            assert!(!pattern.is_match(refused), "{refused:?}");
        }
    }
}
