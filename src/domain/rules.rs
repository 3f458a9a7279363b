//! The clinic's booking rules as a value: how soon and how far ahead a visit may be booked, until
//! when it may be cancelled or moved, and how many upcoming visits one email address may hold.
//! Settings give the clinic's rules; a visit type may override some of them (`with`). What the
//! rules decide is here; `clinic::rules` applies them to the bookings in the database.

use chrono::{Duration, NaiveDateTime};

use super::clean_text;

/// The widest each timing rule may be set, for the clinic (settings) and per visit type alike.
pub const MAX_MIN_NOTICE_MINUTES: i64 = 30 * 24 * 60;
pub const MAX_HORIZON_DAYS: i64 = 3650;
pub const MAX_CANCEL_CUTOFF_HOURS: i64 = 90 * 24;

/// One of the booking rules, as refusals and the audit log name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// A visit must be booked (or moved to) at least `min_notice` before it starts.
    MinNotice,
    /// ... and at most `horizon` ahead.
    Horizon,
    /// A visit may be cancelled or moved until `cancel_cutoff` before it starts.
    CancelCutoff,
    /// One email address holds at most `max_active_per_email` upcoming booked visits.
    MaxActive,
}

impl Rule {
    pub const ALL: [Rule; 4] = [
        Self::MinNotice,
        Self::Horizon,
        Self::CancelCutoff,
        Self::MaxActive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MinNotice => "min_notice",
            Self::Horizon => "horizon",
            Self::CancelCutoff => "cancel_cutoff",
            Self::MaxActive => "max_active",
        }
    }

    /// Whether a staff member may set the rule aside with a reason. The number of bookings
    /// per address is not a matter of timing but of how many slots one person holds: nobody
    /// overrides it (staff cancel one first).
    pub fn overridable(self) -> bool {
        !matches!(self, Self::MaxActive)
    }
}

/// The rules in force for one visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookingRules {
    pub min_notice: Duration,
    pub horizon: Duration,
    pub cancel_cutoff: Duration,
    pub max_active_per_email: u32,
}

/// Rules that differ from the clinic's for some visits (a visit type's); `None` keeps the
/// clinic's value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuleOverrides {
    pub min_notice: Option<Duration>,
    pub horizon: Option<Duration>,
    pub cancel_cutoff: Option<Duration>,
    pub max_active_per_email: Option<u32>,
}

impl Default for BookingRules {
    /// The rules of issue 15: 2 hours' notice, 90 days ahead, changes online until 24 hours
    /// before, 3 upcoming visits per address.
    fn default() -> Self {
        Self {
            min_notice: Duration::hours(2),
            horizon: Duration::days(90),
            cancel_cutoff: Duration::hours(24),
            max_active_per_email: 3,
        }
    }
}

impl BookingRules {
    /// These rules with `overrides` laid over them.
    pub fn with(self, overrides: &RuleOverrides) -> Self {
        Self {
            min_notice: overrides.min_notice.unwrap_or(self.min_notice),
            horizon: overrides.horizon.unwrap_or(self.horizon),
            cancel_cutoff: overrides.cancel_cutoff.unwrap_or(self.cancel_cutoff),
            max_active_per_email: overrides
                .max_active_per_email
                .unwrap_or(self.max_active_per_email),
        }
    }

    /// Where a visit booked at `now` may start: from `min_notice` on (inclusive) until
    /// `horizon` (exclusive).
    pub fn bookable_window(&self, now: NaiveDateTime) -> (NaiveDateTime, NaiveDateTime) {
        let later = |by: Duration| now.checked_add_signed(by).unwrap_or(NaiveDateTime::MAX);
        (later(self.min_notice), later(self.horizon))
    }

    /// The rule a visit starting at `start`, booked at `now`, breaks, if any.
    pub fn check_start(&self, start: NaiveDateTime, now: NaiveDateTime) -> Option<Rule> {
        let (earliest, until) = self.bookable_window(now);
        if start < earliest {
            Some(Rule::MinNotice)
        } else if start >= until {
            Some(Rule::Horizon)
        } else {
            None
        }
    }

    /// Whether a visit starting at `start` is too close (or past) to cancel or move at `now`.
    pub fn check_change(&self, start: NaiveDateTime, now: NaiveDateTime) -> Option<Rule> {
        let cutoff = start
            .checked_sub_signed(self.cancel_cutoff)
            .unwrap_or(NaiveDateTime::MIN);
        (now > cutoff).then_some(Rule::CancelCutoff)
    }

    /// Whether an address that holds `active` upcoming visits may book one more.
    pub fn check_active(&self, active: i64) -> Option<Rule> {
        (active >= i64::from(self.max_active_per_email)).then_some(Rule::MaxActive)
    }
}

/// A length of time as a patient reads it: "2 hours", "90 days", "24 hours", "45 minutes".
/// Whole days from two days up, whole hours, else minutes.
pub fn in_words(duration: Duration) -> String {
    let minutes = duration.num_minutes();
    let (count, unit) = if minutes >= 2 * 24 * 60 && minutes % (24 * 60) == 0 {
        (minutes / (24 * 60), "day")
    } else if minutes >= 60 && minutes % 60 == 0 {
        (minutes / 60, "hour")
    } else {
        (minutes, "minute")
    };
    let plural = if count == 1 { "" } else { "s" };
    format!("{count} {unit}{plural}")
}

/// A staff member's reason for setting the rules aside for one change. It is free text a person
/// writes and may mention the patient, so it is kept in the audit log (read by admins) and
/// nowhere else: never in a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct RuleOverride {
    reason: String,
}

impl RuleOverride {
    pub const MAX_REASON_CHARS: usize = 500;

    pub fn parse(reason: &str) -> Result<Self, String> {
        let reason = clean_text(reason, Self::MAX_REASON_CHARS, "reason")?;
        if reason.is_empty() {
            return Err("reason must say why the booking rules are set aside".into());
        }
        Ok(Self { reason })
    }

    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// Debug output leaves the reason out, so that a `{:?}` in a log line cannot carry it.
impl std::fmt::Debug for RuleOverride {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleOverride").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hour: u32) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2030, 1, 1)
            .and_then(|d| d.and_hms_opt(hour, 0, 0))
            .expect("a valid instant")
    }

    #[test]
    fn overrides_replace_only_what_they_name() {
        let clinic = BookingRules::default();
        assert_eq!(clinic.with(&RuleOverrides::default()), clinic);
        let longer = RuleOverrides {
            min_notice: Some(Duration::hours(48)),
            max_active_per_email: Some(1),
            ..Default::default()
        };
        let rules = clinic.with(&longer);
        assert_eq!(rules.min_notice, Duration::hours(48));
        assert_eq!(rules.max_active_per_email, 1);
        assert_eq!(rules.horizon, clinic.horizon);
        assert_eq!(rules.cancel_cutoff, clinic.cancel_cutoff);
    }

    #[test]
    fn a_visit_may_start_from_the_notice_until_the_horizon() {
        let rules = BookingRules::default();
        let now = at(8);
        let notice = now + rules.min_notice;
        assert_eq!(
            rules.check_start(notice - Duration::seconds(1), now),
            Some(Rule::MinNotice)
        );
        assert_eq!(rules.check_start(notice, now), None);
        let horizon = now + rules.horizon;
        assert_eq!(rules.check_start(horizon - Duration::seconds(1), now), None);
        assert_eq!(rules.check_start(horizon, now), Some(Rule::Horizon));
        assert_eq!(rules.check_start(at(7), now), Some(Rule::MinNotice));
        assert_eq!(rules.bookable_window(now), (notice, horizon));
    }

    #[test]
    fn changes_end_at_the_cutoff() {
        let rules = BookingRules::default();
        let start = at(12) + Duration::days(2);
        let cutoff = start - rules.cancel_cutoff;
        assert_eq!(rules.check_change(start, cutoff), None);
        assert_eq!(
            rules.check_change(start, cutoff + Duration::seconds(1)),
            Some(Rule::CancelCutoff)
        );
        assert_eq!(
            rules.check_change(start, start + Duration::hours(1)),
            Some(Rule::CancelCutoff),
            "a visit that started is past its cut-off"
        );
        let none = BookingRules {
            cancel_cutoff: Duration::zero(),
            ..rules
        };
        assert_eq!(none.check_change(start, start), None);
    }

    #[test]
    fn an_address_holds_at_most_the_maximum() {
        let rules = BookingRules::default();
        assert_eq!(rules.check_active(2), None);
        assert_eq!(rules.check_active(3), Some(Rule::MaxActive));
    }

    #[test]
    fn only_the_timing_rules_can_be_overridden() {
        let overridable: Vec<Rule> = Rule::ALL.into_iter().filter(|r| r.overridable()).collect();
        assert_eq!(
            overridable,
            vec![Rule::MinNotice, Rule::Horizon, Rule::CancelCutoff]
        );
    }

    #[test]
    fn lengths_read_as_people_say_them() {
        for (duration, words) in [
            (Duration::hours(2), "2 hours"),
            (Duration::hours(1), "1 hour"),
            (Duration::hours(24), "24 hours"),
            (Duration::hours(48), "2 days"),
            (Duration::days(90), "90 days"),
            (Duration::minutes(90), "90 minutes"),
            (Duration::minutes(1), "1 minute"),
            (Duration::zero(), "0 minutes"),
        ] {
            assert_eq!(in_words(duration), words);
        }
    }

    #[test]
    fn an_override_needs_a_reason_of_bounded_length() {
        assert!(RuleOverride::parse("  ").is_err());
        assert!(RuleOverride::parse("walk-in\u{7}").is_err());
        let longest = "x".repeat(RuleOverride::MAX_REASON_CHARS);
        assert!(RuleOverride::parse(&longest).is_ok());
        assert!(RuleOverride::parse(&format!("{longest}x")).is_err());
        let reason = RuleOverride::parse(" walk-in, seen between patients ").expect("valid");
        assert_eq!(reason.reason(), "walk-in, seen between patients");
        assert!(!format!("{reason:?}").contains("walk-in"));
    }
}
