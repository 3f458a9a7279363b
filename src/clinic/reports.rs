//! The admins' report per provider and period: how much of the time offered was booked, how often
//! patients missed their visit or cancelled late, how far ahead they booked, and where bookings
//! came from and for what. Three reads (the period's slots, its visits, the providers' names),
//! and the arithmetic here, in Rust, so both backends answer the same figures.
//!
//! What counts, for each provider:
//! - **available**: the minutes of their slots starting in the period that are not blocked
//!   (free or busy);
//! - **booked**: the minutes of the visits starting in the period (the first slot's start to the
//!   visit's end, its buffer not included) that are booked, arrived, completed or missed;
//!   `utilization` is booked over available;
//! - **bookings**: the visits starting in the period, of every status; the rates divide by them
//!   (`late_cancellation_rate`), or by the visits that came to an end (`no_show_rate`: no-shows
//!   over completed and no-shows);
//! - a cancellation is **late** when it was made after the visit's cut-off (the visit type's
//!   `cancel_cutoff_hours`, else the clinic's), exactly as `rules` refuses a patient's; one
//!   without `cancelled_at` (from before the column) is not;
//! - the **lead time** of a booking is from when it was made to the visit's start, in whole
//!   minutes (rounded down); the median is over the period's bookings that were not cancelled,
//!   and for an even number of them the lower of the two middle ones, so it is always one
//!   booking's lead time.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{Duration, NaiveDate, NaiveDateTime};
use chrono_tz::Tz;

use super::rules::BookingPolicy;
use super::ClinicError;
use crate::db::reports::{self as queries, SlotTime, VisitFacts};
use crate::db::DbConnection;
use crate::domain::booking::BookingStatus;
use crate::domain::ids::{ProviderId, VisitTypeId};
use crate::domain::rules::RuleOverrides;
use crate::domain::slot::{start_of_local_day, SlotStatus};

/// The longest period a report covers: `to` at most this many days after `from`.
pub(crate) const MAX_PERIOD_DAYS: i64 = 366;

/// What a visit without a visit type is called in the report.
pub(crate) const NO_VISIT_TYPE: &str = "No visit type";

/// The local days a report covers, both included, and the instants they span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Period {
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    /// The first day's local midnight (UTC).
    pub start: NaiveDateTime,
    /// The local midnight after the last day (UTC), not included.
    pub end: NaiveDateTime,
}

impl Period {
    /// The local days `from` to `to` in `tz`, both included; `from` not after `to`, and `to`
    /// at most `MAX_PERIOD_DAYS` after it. The refusal says which.
    pub(crate) fn days(from: NaiveDate, to: NaiveDate, tz: Tz) -> Result<Self, String> {
        if from > to {
            return Err(format!("`from` ({from}) must not be after `to` ({to})"));
        }
        if (to - from).num_days() > MAX_PERIOD_DAYS {
            return Err(format!(
                "`to` must be at most {MAX_PERIOD_DAYS} days after `from`"
            ));
        }
        let start = start_of_local_day(from, tz);
        let end = to.succ_opt().and_then(|next| start_of_local_day(next, tz));
        match (start, end) {
            (Some(start), Some(end)) => Ok(Self {
                first_day: from,
                last_day: to,
                start: start.naive_utc(),
                end: end.naive_utc(),
            }),
            _ => Err("the period is out of range".into()),
        }
    }

    fn span(&self) -> (NaiveDateTime, NaiveDateTime) {
        (self.start, self.end)
    }
}

/// One provider's figures for the period.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ProviderReport {
    pub provider_id: ProviderId,
    pub provider: String,
    pub available_minutes: i64,
    pub booked_minutes: i64,
    /// `booked_minutes / available_minutes` (see `rate`); none when nothing was available.
    pub utilization: Option<f64>,
    pub bookings: i64,
    pub completed: i64,
    pub no_shows: i64,
    /// `no_shows / (completed + no_shows)`; none when neither happened.
    pub no_show_rate: Option<f64>,
    pub cancellations: i64,
    pub late_cancellations: i64,
    /// `late_cancellations / bookings`; none without bookings.
    pub late_cancellation_rate: Option<f64>,
    pub median_lead_time_minutes: Option<i64>,
    /// Bookings by source (`website`, `front_desk`, an article's slug, ...), by name.
    pub by_source: BTreeMap<String, i64>,
    /// Bookings by visit type, by name, those without one last.
    pub by_visit_type: Vec<VisitTypeCount>,
}

/// How many of the period's bookings were of one visit type (or of none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VisitTypeCount {
    pub visit_type_id: Option<VisitTypeId>,
    /// The type's name, or `NO_VISIT_TYPE`.
    pub name: String,
    pub count: i64,
}

/// The report for `period`: one item per provider with a slot or a booking in it, by name (then
/// id), or only `provider`'s (an item of zeros when they had nothing; `NotFound` when there is
/// no such provider). The clinic's cut-off comes from `policy`.
pub(crate) fn report(
    conn: &mut DbConnection,
    policy: &BookingPolicy,
    period: &Period,
    provider: Option<ProviderId>,
) -> Result<Vec<ProviderReport>, ClinicError> {
    let slots = queries::slots_starting(conn, period.span(), provider)?;
    let visits = queries::visits_starting(conn, period.span(), provider)?;
    let ids: BTreeSet<ProviderId> = match provider {
        Some(id) => BTreeSet::from([id]),
        None => slots
            .iter()
            .map(|s| s.provider_id)
            .chain(visits.iter().map(|v| v.provider_id))
            .collect(),
    };
    let ids: Vec<ProviderId> = ids.into_iter().collect();
    let names: HashMap<ProviderId, String> = if ids.is_empty() {
        HashMap::new()
    } else {
        queries::provider_names(conn, &ids)?.into_iter().collect()
    };
    if let Some(id) = provider {
        if !names.contains_key(&id) {
            return Err(ClinicError::NotFound("provider"));
        }
    }
    let mut items: Vec<ProviderReport> = ids
        .into_iter()
        .map(|id| {
            let name = names.get(&id).cloned().unwrap_or_default();
            let theirs = |s: &&SlotTime| s.provider_id == id;
            let their_slots: Vec<&SlotTime> = slots.iter().filter(theirs).collect();
            let their_visits: Vec<&VisitFacts> =
                visits.iter().filter(|v| v.provider_id == id).collect();
            figures(policy, (id, name), &their_slots, &their_visits)
        })
        .collect();
    items.sort_by(|a, b| {
        a.provider
            .cmp(&b.provider)
            .then(a.provider_id.cmp(&b.provider_id))
    });
    Ok(items)
}

/// One provider's figures from their slots and visits of the period.
fn figures(
    policy: &BookingPolicy,
    (provider_id, provider): (ProviderId, String),
    slots: &[&SlotTime],
    visits: &[&VisitFacts],
) -> ProviderReport {
    let available_seconds: i64 = slots
        .iter()
        .filter(|s| s.status != SlotStatus::Blocked)
        .map(|s| seconds(s.starts_at, s.ends_at))
        .sum();
    let booked_seconds: i64 = visits
        .iter()
        .filter(|v| holds_time(v.status))
        .map(|v| seconds(v.starts_at, v.ends_at.unwrap_or(v.slot_ends_at)))
        .sum();
    let (available_minutes, booked_minutes) = (available_seconds / 60, booked_seconds / 60);
    let with_status = |status: BookingStatus| count(visits.iter().filter(|v| v.status == status));
    let (completed, no_shows) = (
        with_status(BookingStatus::Completed),
        with_status(BookingStatus::NoShow),
    );
    let cancellations = with_status(BookingStatus::Cancelled);
    let late_cancellations = count(visits.iter().filter(|v| cancelled_late(policy, v)));
    let bookings = count(visits.iter());
    let mut by_source: BTreeMap<String, i64> = BTreeMap::new();
    for visit in visits {
        *by_source
            .entry(visit.source.as_str().to_owned())
            .or_default() += 1;
    }
    ProviderReport {
        provider_id,
        provider,
        available_minutes,
        booked_minutes,
        utilization: rate(booked_minutes, available_minutes),
        bookings,
        completed,
        no_shows,
        no_show_rate: rate(no_shows, completed + no_shows),
        cancellations,
        late_cancellations,
        late_cancellation_rate: rate(late_cancellations, bookings),
        median_lead_time_minutes: median_lead_time(visits),
        by_source,
        by_visit_type: by_visit_type(visits),
    }
}

/// Whether a booking in this status holds the provider's time: every one but a cancelled one
/// (a no-show held it, even if nobody came).
fn holds_time(status: BookingStatus) -> bool {
    match status {
        BookingStatus::Booked
        | BookingStatus::Arrived
        | BookingStatus::Completed
        | BookingStatus::NoShow => true,
        BookingStatus::Cancelled => false,
    }
}

/// A cancellation made past the visit's cut-off: the same test (`BookingRules::check_change`)
/// that refuses a patient's cancellation then.
fn cancelled_late(policy: &BookingPolicy, visit: &VisitFacts) -> bool {
    let Some(cancelled_at) = visit.cancelled_at else {
        return false;
    };
    if visit.status != BookingStatus::Cancelled {
        return false;
    }
    let own = RuleOverrides {
        cancel_cutoff: visit
            .cancel_cutoff_hours
            .map(|hours| Duration::hours(i64::from(hours))),
        ..RuleOverrides::default()
    };
    policy
        .rules
        .with(&own)
        .check_change(visit.starts_at, cancelled_at)
        .is_some()
}

/// The median lead time, in whole minutes, of the bookings not cancelled: the lower middle one
/// of an even number.
fn median_lead_time(visits: &[&VisitFacts]) -> Option<i64> {
    let mut leads: Vec<i64> = visits
        .iter()
        .filter(|v| v.status != BookingStatus::Cancelled)
        .map(|v| seconds(v.created_at, v.starts_at).div_euclid(60))
        .collect();
    leads.sort_unstable();
    let middle = leads.len().checked_sub(1)? / 2;
    leads.get(middle).copied()
}

/// Bookings per visit type, by name, then those without a type.
fn by_visit_type(visits: &[&VisitFacts]) -> Vec<VisitTypeCount> {
    let mut counts: BTreeMap<(bool, String, Option<VisitTypeId>), i64> = BTreeMap::new();
    for visit in visits {
        let key = match (&visit.visit_type_id, &visit.visit_type_name) {
            (Some(id), Some(name)) => (false, name.clone(), Some(*id)),
            _ => (true, NO_VISIT_TYPE.to_owned(), None),
        };
        *counts.entry(key).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|((_, name, visit_type_id), count)| VisitTypeCount {
            visit_type_id,
            name,
            count,
        })
        .collect()
}

fn count<T>(items: impl Iterator<Item = T>) -> i64 {
    i64::try_from(items.count()).unwrap_or(i64::MAX)
}

/// The seconds from `from` to `to`, none when `to` is not later.
fn seconds(from: NaiveDateTime, to: NaiveDateTime) -> i64 {
    (to - from).num_seconds().max(0)
}

/// `part / whole` to four decimal places (a hundredth of a percent), none when `whole` is 0.
fn rate(part: i64, whole: i64) -> Option<f64> {
    if whole == 0 {
        return None;
    }
    // Minutes and counts of one report stay far below 2^53: the conversions are exact.
    let ratio = part as f64 / whole as f64;
    Some((ratio * 10_000.0).round() / 10_000.0)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::domain::booking::BookingSource;
    use crate::domain::rules::BookingRules;

    fn at(day: u32, hour: u32, minute: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2027, 3, day)
            .and_then(|d| d.and_hms_opt(hour, minute, 0))
            .expect("a time")
    }

    fn policy() -> BookingPolicy {
        BookingPolicy {
            rules: BookingRules::default(),
            reminder_lead: Duration::hours(24),
            text: String::new(),
            clinic_phone: String::new(),
            hold: Duration::minutes(5),
            offer: Duration::minutes(30),
            texts: None,
        }
    }

    fn visit(status: BookingStatus, created_at: NaiveDateTime) -> VisitFacts {
        VisitFacts {
            provider_id: ProviderId::new(1),
            starts_at: at(10, 9, 0),
            slot_ends_at: at(10, 9, 30),
            ends_at: None,
            status,
            source: BookingSource::named("website"),
            created_at,
            cancelled_at: None,
            visit_type_id: None,
            visit_type_name: None,
            cancel_cutoff_hours: None,
        }
    }

    #[test]
    fn rates_round_to_four_places_and_are_none_over_nothing() {
        assert_eq!(rate(1, 3), Some(0.3333));
        assert_eq!(rate(2, 3), Some(0.6667));
        assert_eq!(rate(0, 5), Some(0.0));
        assert_eq!(rate(3, 0), None);
    }

    #[test]
    fn a_period_is_local_days_both_included_and_at_most_366_days_apart() {
        let tz: Tz = "America/Phoenix".parse().expect("a zone");
        let day = |d: u32| NaiveDate::from_ymd_opt(2027, 3, d).expect("a date");
        let period = Period::days(day(1), day(7), tz).expect("a period");
        assert_eq!(period.start, at(1, 7, 0));
        assert_eq!(period.end, at(8, 7, 0));
        assert!(Period::days(day(2), day(1), tz).is_err());
        assert!(Period::days(day(1), day(1) + Duration::days(366), tz).is_ok());
        assert!(Period::days(day(1), day(1) + Duration::days(367), tz).is_err());
    }

    #[test]
    fn the_median_lead_time_is_the_lower_middle_one_of_visits_not_cancelled() {
        let visits = [
            visit(BookingStatus::Booked, at(10, 8, 0)),
            visit(BookingStatus::Completed, at(9, 9, 0)),
            visit(BookingStatus::NoShow, at(10, 8, 30)),
            visit(BookingStatus::Arrived, at(8, 9, 0)),
            visit(BookingStatus::Cancelled, at(1, 9, 0)),
        ];
        let all: Vec<&VisitFacts> = visits.iter().collect();
        // 30, 60, 1440 and 2880 minutes: the lower middle is 60.
        assert_eq!(median_lead_time(&all), Some(60));
        assert_eq!(median_lead_time(&all[..3]), Some(60));
        assert_eq!(median_lead_time(&all[4..]), None);
    }

    #[test]
    fn a_cancellation_is_late_past_the_visit_types_cut_off_or_else_the_clinics() {
        let policy = policy();
        let mut cancelled = visit(BookingStatus::Cancelled, at(1, 9, 0));
        assert!(
            !cancelled_late(&policy, &cancelled),
            "no cancelled_at: not late"
        );
        cancelled.cancelled_at = Some(at(9, 9, 0));
        assert!(
            !cancelled_late(&policy, &cancelled),
            "24 hours before: in time"
        );
        cancelled.cancelled_at = Some(at(9, 9, 1));
        assert!(cancelled_late(&policy, &cancelled));
        cancelled.cancel_cutoff_hours = Some(2);
        assert!(!cancelled_late(&policy, &cancelled), "the type's 2 hours");
        cancelled.cancelled_at = Some(at(10, 7, 30));
        assert!(cancelled_late(&policy, &cancelled));
    }
}
