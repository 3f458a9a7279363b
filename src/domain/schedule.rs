//! A provider's weekly working pattern over a date range, and the slots it makes in the clinic's
//! time zone. Pure: the caller stores the slots (skipping overlaps) and counts what it made.

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Timelike, Utc,
    Weekday,
};
use chrono_tz::Tz;

use super::FieldErrors;

/// The longest range one request may fill, so one call cannot create years of slots.
pub(crate) const MAX_RANGE_DAYS: i64 = 366;
pub(crate) const MIN_SLOT_MINUTES: i64 = 5;
pub(crate) const MAX_SLOT_MINUTES: i64 = 480;
/// A bound on the slots one request plans, so one transaction stays short.
pub(crate) const MAX_SLOTS: usize = 20_000;

/// A break in the working day, in local wall-clock time, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Break {
    start: NaiveTime,
    end: NaiveTime,
}

/// A validated weekly pattern: which weekdays, local working hours, slot length and breaks, from
/// `from_date` to `to_date` inclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeeklySchedule {
    from_date: NaiveDate,
    to_date: NaiveDate,
    weekdays: Vec<Weekday>,
    start_time: NaiveTime,
    end_time: NaiveTime,
    slot_minutes: i64,
    breaks: Vec<Break>,
}

/// The request as it arrives, every field optional so each missing one is reported.
#[derive(Debug, Clone, Default)]
pub struct ScheduleInput<'a> {
    pub from_date: Option<&'a str>,
    pub to_date: Option<&'a str>,
    pub weekdays: Option<Vec<&'a str>>,
    pub start_time: Option<&'a str>,
    pub end_time: Option<&'a str>,
    pub slot_minutes: Option<i64>,
    /// `(start, end)` of each break.
    pub breaks: Vec<(&'a str, &'a str)>,
}

/// One slot the pattern asks for, as instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedSlot {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// What a pattern makes in one time zone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub slots: Vec<PlannedSlot>,
    /// Local start times that do not exist on their day (the spring-forward gap).
    pub nonexistent: usize,
}

fn parse_date(value: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .map_err(|_| "must be a date as YYYY-MM-DD".to_string())
}

fn parse_time(value: &str) -> Result<NaiveTime, String> {
    let value = value.trim();
    NaiveTime::parse_from_str(value, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(value, "%H:%M:%S"))
        .map_err(|_| "must be a local time as HH:MM".to_string())
}

fn required<T>(errors: &mut FieldErrors, field: &str, value: Option<T>) -> Option<T> {
    if value.is_none() {
        errors.add(field, format!("{field} is required"));
    }
    value
}

/// Minutes since local midnight.
fn minute_of_day(t: NaiveTime) -> i64 {
    i64::from(t.hour() * 60 + t.minute())
}

impl WeeklySchedule {
    /// Parses every field, recording each failure under its field name.
    pub fn parse(input: ScheduleInput<'_>, errors: &mut FieldErrors) -> Option<Self> {
        let from_date = required(errors, "from_date", input.from_date)
            .and_then(|v| errors.check("from_date", parse_date(v)));
        let to_date = required(errors, "to_date", input.to_date)
            .and_then(|v| errors.check("to_date", parse_date(v)));
        if let (Some(from), Some(to)) = (from_date, to_date) {
            if to < from {
                errors.add("to_date", "to_date must not be before from_date");
            } else if (to - from).num_days() + 1 > MAX_RANGE_DAYS {
                errors.add(
                    "to_date",
                    format!("the range may cover at most {MAX_RANGE_DAYS} days"),
                );
            }
        }
        let weekdays = required(errors, "weekdays", input.weekdays).and_then(|days| {
            let mut parsed = Vec::new();
            for day in days {
                match day.trim().parse::<Weekday>() {
                    Ok(d) if !parsed.contains(&d) => parsed.push(d),
                    Ok(_) => {}
                    Err(_) => {
                        errors.add("weekdays", format!("`{day}` is not a weekday (mon … sun)"));
                        return None;
                    }
                }
            }
            if parsed.is_empty() {
                errors.add("weekdays", "name at least one weekday");
                return None;
            }
            Some(parsed)
        });
        let start_time = required(errors, "start_time", input.start_time)
            .and_then(|v| errors.check("start_time", parse_time(v)));
        let end_time = required(errors, "end_time", input.end_time)
            .and_then(|v| errors.check("end_time", parse_time(v)));
        if let (Some(start), Some(end)) = (start_time, end_time) {
            if end <= start {
                errors.add("end_time", "end_time must be after start_time");
            }
        }
        let slot_minutes = required(errors, "slot_minutes", input.slot_minutes).and_then(|m| {
            let ok = (MIN_SLOT_MINUTES..=MAX_SLOT_MINUTES).contains(&m);
            if !ok {
                errors.add(
                    "slot_minutes",
                    format!("slot_minutes must be {MIN_SLOT_MINUTES} to {MAX_SLOT_MINUTES}"),
                );
            }
            ok.then_some(m)
        });
        let mut breaks = Vec::new();
        for (i, (start, end)) in input.breaks.iter().enumerate() {
            let field = format!("breaks[{i}]");
            let start = errors.check(&format!("{field}.start"), parse_time(start));
            let end = errors.check(&format!("{field}.end"), parse_time(end));
            if let (Some(start), Some(end)) = (start, end) {
                if end <= start {
                    errors.add(format!("{field}.end"), "a break must end after it starts");
                } else {
                    breaks.push(Break { start, end });
                }
            }
        }
        if !errors.is_empty() {
            return None;
        }
        let schedule = Self {
            from_date: from_date?,
            to_date: to_date?,
            weekdays: weekdays?,
            start_time: start_time?,
            end_time: end_time?,
            slot_minutes: slot_minutes?,
            breaks,
        };
        if schedule.local_starts().count() > MAX_SLOTS {
            errors.add(
                "slot_minutes",
                format!("this pattern makes more than {MAX_SLOTS} slots; use a shorter range or longer slots"),
            );
            return None;
        }
        Some(schedule)
    }

    pub fn from_date(&self) -> NaiveDate {
        self.from_date
    }

    pub fn to_date(&self) -> NaiveDate {
        self.to_date
    }

    /// The local wall-clock starts of every slot: each chosen weekday, from `start_time` while a
    /// whole slot fits before `end_time`; a slot that would overlap a break resumes at its end.
    fn local_starts(&self) -> impl Iterator<Item = chrono::NaiveDateTime> + '_ {
        let days = (self.to_date - self.from_date).num_days();
        (0..=days)
            .map(move |d| self.from_date + Duration::days(d))
            .filter(move |date| self.weekdays.contains(&date.weekday()))
            .flat_map(move |date| {
                let mut starts = Vec::new();
                let end = minute_of_day(self.end_time);
                let mut minute = minute_of_day(self.start_time);
                while minute + self.slot_minutes <= end {
                    let slot_end = minute + self.slot_minutes;
                    let clash = self.breaks.iter().find(|b| {
                        minute < minute_of_day(b.end) && slot_end > minute_of_day(b.start)
                    });
                    match clash {
                        Some(b) => minute = minute_of_day(b.end).max(minute + 1),
                        None => {
                            starts.push(date.and_time(NaiveTime::MIN) + Duration::minutes(minute));
                            minute = slot_end;
                        }
                    }
                }
                starts
            })
    }

    /// The slots in `tz`. Local times are kept across DST changes (09:00 stays 09:00); a local
    /// start that does not exist that day is skipped, and one that happens twice (fall-back) is
    /// taken once, at its earlier instant. Each slot lasts `slot_minutes` of real time.
    pub(crate) fn plan(&self, tz: Tz) -> Plan {
        let mut plan = Plan::default();
        let length = Duration::minutes(self.slot_minutes);
        for local in self.local_starts() {
            let start = match tz.from_local_datetime(&local) {
                LocalResult::Single(t) => t,
                LocalResult::Ambiguous(a, b) => a.min(b),
                LocalResult::None => {
                    plan.nonexistent += 1;
                    continue;
                }
            };
            let start = start.with_timezone(&Utc);
            plan.slots.push(PlannedSlot {
                start,
                end: start + length,
            });
        }
        plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(
        from: &'a str,
        to: &'a str,
        start: &'a str,
        end: &'a str,
        minutes: i64,
    ) -> ScheduleInput<'a> {
        ScheduleInput {
            from_date: Some(from),
            to_date: Some(to),
            weekdays: Some(vec!["mon", "tue", "wed", "thu", "fri", "sat", "sun"]),
            start_time: Some(start),
            end_time: Some(end),
            slot_minutes: Some(minutes),
            breaks: vec![],
        }
    }

    fn parse(input: ScheduleInput<'_>) -> WeeklySchedule {
        let mut errors = FieldErrors::default();
        let schedule = WeeklySchedule::parse(input, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        schedule.unwrap()
    }

    fn new_york() -> Tz {
        "America/New_York".parse().unwrap()
    }

    fn starts(plan: &Plan) -> Vec<String> {
        plan.slots.iter().map(|s| s.start.to_rfc3339()).collect()
    }

    #[test]
    fn nine_local_stays_nine_local_across_spring_forward() {
        // 2027-03-14 is the US spring-forward Sunday: EST (-5) before, EDT (-4) after.
        let plan = parse(input("2027-03-13", "2027-03-15", "09:00", "09:30", 30)).plan(new_york());
        assert_eq!(
            starts(&plan),
            [
                "2027-03-13T14:00:00+00:00",
                "2027-03-14T13:00:00+00:00",
                "2027-03-15T13:00:00+00:00"
            ]
        );
        assert_eq!(plan.nonexistent, 0);
    }

    #[test]
    fn the_spring_forward_gap_is_skipped() {
        let plan = parse(input("2027-03-14", "2027-03-14", "01:00", "04:00", 60)).plan(new_york());
        // 01:00 EST, (02:00 does not exist), 03:00 EDT.
        assert_eq!(
            starts(&plan),
            ["2027-03-14T06:00:00+00:00", "2027-03-14T07:00:00+00:00"]
        );
        assert_eq!(plan.nonexistent, 1);
    }

    #[test]
    fn the_fall_back_hour_is_taken_once() {
        // 2027-11-07: 01:00–02:00 happens twice (EDT, then EST).
        let plan = parse(input("2027-11-07", "2027-11-07", "00:00", "03:00", 60)).plan(new_york());
        assert_eq!(
            starts(&plan),
            [
                "2027-11-07T04:00:00+00:00",
                "2027-11-07T05:00:00+00:00",
                "2027-11-07T07:00:00+00:00"
            ]
        );
        assert_eq!(plan.nonexistent, 0);
        for pair in plan.slots.windows(2) {
            assert!(pair[0].end <= pair[1].start, "slots never overlap");
        }
        let plan = parse(input("2027-11-06", "2027-11-08", "09:00", "09:30", 30)).plan(new_york());
        assert_eq!(
            starts(&plan),
            [
                "2027-11-06T13:00:00+00:00",
                "2027-11-07T14:00:00+00:00",
                "2027-11-08T14:00:00+00:00"
            ]
        );
    }

    #[test]
    fn weekdays_and_breaks_shape_the_day() {
        let mut i = input("2026-12-07", "2026-12-13", "09:00", "13:00", 45);
        i.weekdays = Some(vec!["mon", "wednesday"]);
        i.breaks = vec![("11:00", "12:00")];
        let phoenix: Tz = "America/Phoenix".parse().unwrap();
        let plan = parse(i).plan(phoenix);
        let local: Vec<String> = plan
            .slots
            .iter()
            .map(|s| {
                s.start
                    .with_timezone(&phoenix)
                    .format("%a %H:%M")
                    .to_string()
            })
            .collect();
        // 09:00, 09:45, (10:30 would run into the break), 12:00 after it; 12:45 does not fit.
        assert_eq!(
            local,
            [
                "Mon 09:00",
                "Mon 09:45",
                "Mon 12:00",
                "Wed 09:00",
                "Wed 09:45",
                "Wed 12:00"
            ]
        );
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut errors = FieldErrors::default();
        let parsed = WeeklySchedule::parse(
            ScheduleInput {
                from_date: Some("2027-01-10"),
                to_date: Some("2027-01-01"),
                weekdays: Some(vec!["funday"]),
                start_time: Some("17:00"),
                end_time: Some("09:00"),
                slot_minutes: Some(2),
                breaks: vec![("12:00", "11:00")],
            },
            &mut errors,
        );
        assert!(parsed.is_none());
        let map = errors.into_map();
        for field in [
            "to_date",
            "weekdays",
            "end_time",
            "slot_minutes",
            "breaks[0].end",
        ] {
            assert!(map.contains_key(field), "missing {field}: {map:?}");
        }
        let mut errors = FieldErrors::default();
        assert!(WeeklySchedule::parse(ScheduleInput::default(), &mut errors).is_none());
        assert_eq!(errors.into_map().len(), 6);
        let mut errors = FieldErrors::default();
        let too_long = input("2027-01-01", "2028-01-02", "09:00", "10:00", 60);
        assert!(WeeklySchedule::parse(too_long, &mut errors).is_none());
        assert!(errors.into_map().contains_key("to_date"));
        let mut errors = FieldErrors::default();
        let too_many = input("2027-01-01", "2027-12-31", "00:00", "23:55", 5);
        assert!(WeeklySchedule::parse(too_many, &mut errors).is_none());
    }
}
