//! A provider's time off as staff enter it: a range of instants and a reason. The bounds here
//! are the ones the OpenAPI document states.

use chrono::{DateTime, Duration, SubsecRound, Utc};

use super::calendar;
use super::provider::single_line;
use super::FieldErrors;

/// The longest time off one request enters: a year (a sabbatical is two entries).
pub const MAX_DAYS: i64 = 366;
pub const REASON_MAX_CHARS: usize = 200;

/// A validated time off: `[start, end)`, whole seconds, with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeOffRange {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    reason: String,
}

/// The unvalidated fields of a request.
#[derive(Debug, Clone, Copy, Default)]
pub struct TimeOffInput<'a> {
    pub start: Option<&'a str>,
    pub end: Option<&'a str>,
    pub reason: Option<&'a str>,
}

fn instant(value: Option<&str>, field: &str, errors: &mut FieldErrors) -> Option<DateTime<Utc>> {
    let Some(value) = value else {
        errors.add(field, format!("{field} is required"));
        return None;
    };
    errors.check(
        field,
        DateTime::parse_from_rfc3339(value.trim())
            .map_err(|_| format!("{field} must be an RFC 3339 instant with offset"))
            .and_then(|t| {
                calendar::check_instant(t.with_timezone(&Utc)).map_err(|m| format!("{field} {m}"))
            })
            .map(|t| t.trunc_subsecs(0)),
    )
}

impl TimeOffRange {
    /// The range and reason, or `None` with every bad field named in `errors`.
    pub fn parse(input: TimeOffInput<'_>, errors: &mut FieldErrors) -> Option<Self> {
        let start = instant(input.start, "start", errors);
        let end = instant(input.end, "end", errors);
        let reason = match input.reason {
            None => {
                errors.add("reason", "reason is required");
                None
            }
            Some(v) => errors.check("reason", single_line(v, REASON_MAX_CHARS, "reason", false)),
        };
        let (start, end, reason) = (start?, end?, reason?);
        if end <= start {
            errors.add("end", "end must be after start");
            return None;
        }
        if end - start > Duration::days(MAX_DAYS) {
            errors.add("end", format!("time off may last at most {MAX_DAYS} days"));
            return None;
        }
        Some(Self { start, end, reason })
    }

    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }

    pub fn reason(&self) -> &str {
        &self.reason
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(start: &str, end: &str, reason: &str) -> Result<TimeOffRange, Vec<String>> {
        let mut errors = FieldErrors::default();
        let input = TimeOffInput {
            start: Some(start),
            end: Some(end),
            reason: Some(reason),
        };
        TimeOffRange::parse(input, &mut errors)
            .ok_or_else(|| errors.into_map().into_keys().collect())
    }

    #[test]
    fn a_range_runs_forward_for_at_most_a_year() {
        let ok = parse(
            "2027-03-01T08:00:00-07:00",
            "2027-03-05T17:00:00.5-07:00",
            " Conference ",
        )
        .expect("valid");
        assert_eq!(ok.reason(), "Conference");
        assert_eq!(ok.end().to_rfc3339(), "2027-03-06T00:00:00+00:00");
        assert_eq!(
            parse("2027-03-01T08:00:00Z", "2027-03-01T08:00:00Z", "x"),
            Err(vec!["end".to_owned()])
        );
        assert_eq!(
            parse("2027-03-01T08:00:00Z", "2028-03-02T08:00:00Z", "x"),
            Err(vec!["end".to_owned()])
        );
        assert!(parse("2027-03-01T08:00:00Z", "2028-03-01T08:00:00Z", "x").is_ok());
    }

    #[test]
    fn every_bad_field_is_named() {
        assert_eq!(
            parse("2027-03-01", "soon", ""),
            Err(vec![
                "end".to_owned(),
                "reason".to_owned(),
                "start".to_owned()
            ])
        );
        assert_eq!(
            parse("2027-03-01T08:00:00Z", "2027-03-02T08:00:00Z", "two\nlines"),
            Err(vec!["reason".to_owned()])
        );
        let long = "x".repeat(REASON_MAX_CHARS + 1);
        assert_eq!(
            parse("2027-03-01T08:00:00Z", "2027-03-02T08:00:00Z", &long),
            Err(vec!["reason".to_owned()])
        );
        let mut errors = FieldErrors::default();
        assert!(TimeOffRange::parse(TimeOffInput::default(), &mut errors).is_none());
        assert_eq!(errors.into_map().len(), 3);
    }
}
