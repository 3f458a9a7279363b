//! Courses of care: several visits of one visit type with one provider, on the same weekday and
//! local time every few weeks, booked all together or not at all. Each visit is an ordinary
//! booking (`appointments::book`, so every rule and claim applies) that names the series; the
//! series gets one confirmation listing every visit.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde_json::json;

use super::appointments::{self, BookingDetails, Intake};
use super::audit::{self, Entity};
use super::rules::BookingPolicy;
use super::{openings, ClinicError};
use crate::db::audit::AuditAction;
use crate::db::outbox::{self, MailKind};
use crate::db::series::{self, NewSeries, Series};
use crate::db::slots::{self, OpenBetween};
use crate::db::visit_types::VisitType;
use crate::db::DbConnection;
use crate::domain::actor::Actor;
use crate::domain::booking::{BookingReference, BookingStatus, SeriesReference};
use crate::domain::ids::{ProviderId, SlotId, VisitTypeId};
use crate::domain::rules::RuleOverride;
use crate::domain::series::{occurrences, Occurrence};
use crate::domain::slot::{covering_prefix, SlotStatus};

/// What a course of care asks for: its first visit (a start where the visit type fits), how
/// many visits, and how many weeks apart.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SeriesRequest {
    pub first_slot_id: SlotId,
    pub visit_type_id: VisitTypeId,
    pub visits: i64,
    pub interval_weeks: i64,
}

/// A series with its visits, in order.
#[derive(Debug, Clone)]
pub(crate) struct SeriesDetails {
    pub series: Series,
    pub visits: Vec<BookingDetails>,
}

/// A visit of a requested series that cannot be booked, with the nearest starts that could.
#[derive(Debug, Clone)]
pub struct Conflict {
    pub date: NaiveDate,
    /// The wanted start, local, RFC 3339 with its offset (or the bare local time the clock skips).
    pub local_start: String,
    pub reason: &'static str,
    /// The nearest starts within three days where the visit fits with the same provider.
    pub alternatives: Vec<(SlotId, String)>,
}

/// How far either side of a conflicting date alternatives are looked for.
const ALTERNATIVE_DAYS: i64 = 3;
const ALTERNATIVES: usize = 3;

fn local_text(instant: NaiveDateTime, tz: Tz) -> String {
    instant
        .and_utc()
        .with_timezone(&tz)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// The provider's slot where a visit of `visit_type` starting at `start` fits now, if any: its
/// run free and kept by no live hold.
fn fitting_slot(
    conn: &mut DbConnection,
    provider_id: ProviderId,
    visit_type: &VisitType,
    (start, now): (NaiveDateTime, NaiveDateTime),
) -> Result<Option<SlotId>, ClinicError> {
    let until = start
        .checked_add_signed(visit_type.held_time())
        .unwrap_or(NaiveDateTime::MAX);
    let run = slots::run_from(conn, provider_id, start, until)?;
    let free: Vec<_> = run
        .iter()
        .take_while(|s| s.status == SlotStatus::Free && s.held_until.is_none_or(|u| u <= now))
        .map(|s| (s.starts_at, s.ends_at))
        .collect();
    let fits = run.first().is_some_and(|s| s.starts_at == start)
        && covering_prefix(&free, visit_type.held_time()).is_some();
    Ok(fits.then(|| run[0].id))
}

#[allow(clippy::too_many_arguments)]
fn conflict(
    conn: &mut DbConnection,
    provider_id: ProviderId,
    visit_type: &VisitType,
    occurrence: &Occurrence,
    reason: &'static str,
    tz: Tz,
    now: NaiveDateTime,
) -> Result<Conflict, ClinicError> {
    let (local_start, alternatives) = match occurrence.instant {
        Some(instant) => {
            let wanted = instant.naive_utc();
            let from = (wanted - Duration::days(ALTERNATIVE_DAYS)).max(now);
            let until = wanted + Duration::days(ALTERNATIVE_DAYS + 1);
            let between = OpenBetween { from, until, now };
            let mut near =
                openings::fitting(conn, visit_type, Some(provider_id), None, between, 500)?;
            near.sort_by_key(|(slot, _)| (slot.starts_at - wanted).abs());
            let alternatives = near
                .iter()
                .take(ALTERNATIVES)
                .map(|(slot, _)| (slot.id, local_text(slot.starts_at, tz)))
                .collect();
            (local_text(wanted, tz), alternatives)
        }
        None => (
            occurrence.local.format("%Y-%m-%dT%H:%M:%S").to_string(),
            Vec::new(),
        ),
    };
    Ok(Conflict {
        date: occurrence.local.date(),
        local_start,
        reason,
        alternatives,
    })
}

/// Books every visit of the series in the caller's write transaction, or none: when any date
/// does not fit, `SeriesConflicts` lists each such date with its nearest alternatives.
#[allow(clippy::too_many_arguments)]
pub(crate) fn book(
    conn: &mut DbConnection,
    request: SeriesRequest,
    intake: &Intake,
    actor: &Actor,
    (policy, overriding): (&BookingPolicy, Option<&RuleOverride>),
    tz: Tz,
    now: NaiveDateTime,
) -> Result<SeriesDetails, ClinicError> {
    let (first, provider) = slots::find_with_provider(conn, request.first_slot_id)?
        .ok_or(ClinicError::NotFound("slot"))?;
    let visit_type = openings::active_visit_type(conn, request.visit_type_id)?;
    if !visit_type.series_online && !actor.is_staff() {
        return Err(ClinicError::SeriesByStaffOnly(visit_type.name));
    }
    let first_start: DateTime<Utc> = first.starts_at.and_utc();
    let planned = occurrences(first_start, tz, request.visits, request.interval_weeks);
    let mut chosen = Vec::with_capacity(planned.len());
    let mut conflicts = Vec::new();
    for occurrence in &planned {
        let found = match occurrence.instant {
            None => Err("the clock skips this time that day"),
            Some(instant) if instant.naive_utc() <= now => Err("this time has passed"),
            Some(instant) => {
                fitting_slot(conn, provider.id, &visit_type, (instant.naive_utc(), now))?
                    .ok_or("the provider is not free for the whole visit then")
            }
        };
        match found {
            Ok(slot_id) => chosen.push(slot_id),
            Err(reason) => conflicts.push(conflict(
                conn,
                provider.id,
                &visit_type,
                occurrence,
                reason,
                tz,
                now,
            )?),
        }
    }
    if !conflicts.is_empty() {
        return Err(ClinicError::SeriesConflicts(conflicts));
    }
    let reference = SeriesReference::generate();
    let series = NewSeries {
        reference: reference.as_str(),
        visit_type_id: visit_type.id,
        provider_id: provider.id,
        visit_count: i32::try_from(request.visits).unwrap_or(i32::MAX),
        interval_weeks: i32::try_from(request.interval_weeks).unwrap_or(i32::MAX),
        created_at: now,
    }
    .insert(conn)?;
    let intake = Intake {
        visit_type_id: Some(visit_type.id),
        series_id: Some(series.id),
        hold: None,
        ..intake.clone()
    };
    let mut visits = Vec::with_capacity(chosen.len());
    for (slot_id, occurrence) in chosen.into_iter().zip(&planned) {
        match appointments::book(conn, slot_id, &intake, actor, policy, overriding, now) {
            Ok(details) => visits.push(details),
            // Taken between the check and the claim: the whole series rolls back.
            Err(ClinicError::SlotUnavailable { .. }) => {
                let lost = conflict(
                    conn,
                    provider.id,
                    &visit_type,
                    occurrence,
                    "taken by someone else a moment ago",
                    tz,
                    now,
                )?;
                return Err(ClinicError::SeriesConflicts(vec![lost]));
            }
            Err(e) => return Err(e),
        }
    }
    if let Some(first_visit) = visits.first() {
        outbox::enqueue(
            conn,
            MailKind::Confirmation,
            first_visit.booking.id,
            now,
            now,
        )?;
        super::texts::queue(
            conn,
            policy,
            &first_visit.booking,
            crate::db::texts::TextKind::Confirmation,
            now,
            now,
        )?;
    }
    audit::record(
        conn,
        actor,
        AuditAction::SeriesCreate,
        Entity::Series(&series.reference),
        None,
        Some(json!({
            "visit_type_id": visit_type.id,
            "provider_id": provider.id,
            "visits": visits.iter().map(|v| v.booking.reference.clone()).collect::<Vec<_>>(),
            "interval_weeks": request.interval_weeks,
        })),
        now,
    )?;
    Ok(SeriesDetails { series, visits })
}

/// A series by reference, with its visits.
pub(crate) fn load(
    conn: &mut DbConnection,
    reference: &SeriesReference,
) -> Result<SeriesDetails, ClinicError> {
    let series = series::find_by_reference(conn, reference.as_str())?
        .ok_or(ClinicError::NotFound("series"))?;
    let visits = visits_of(conn, &series)?;
    Ok(SeriesDetails { series, visits })
}

/// The visits of a series, in order.
pub(crate) fn visits_of(
    conn: &mut DbConnection,
    series: &Series,
) -> Result<Vec<BookingDetails>, ClinicError> {
    series::bookings_of(conn, series.id)?
        .iter()
        .filter_map(|b| BookingReference::parse(&b.reference))
        .map(|reference| appointments::load(conn, &reference))
        .collect()
}

/// The other visits of the series a booking belongs to (for its confirmation), in order.
pub(crate) fn visits_with(
    conn: &mut DbConnection,
    details: &BookingDetails,
) -> Result<Vec<BookingDetails>, ClinicError> {
    let Some(id) = details.booking.series_id else {
        return Ok(Vec::new());
    };
    match series::find(conn, id)? {
        Some(series) => visits_of(conn, &series),
        None => Ok(Vec::new()),
    }
}

/// Cancels the series' visits that are still booked and have not started (each gets its
/// cancellation mail); visits already held or past stay as they are.
pub(crate) fn cancel(
    conn: &mut DbConnection,
    reference: &SeriesReference,
    actor: &Actor,
    (policy, overriding): (&BookingPolicy, Option<&RuleOverride>),
    now: NaiveDateTime,
) -> Result<SeriesDetails, ClinicError> {
    let details = load(conn, reference)?;
    let mut cancelled = Vec::new();
    for visit in &details.visits {
        if visit.status() == BookingStatus::Booked && visit.slot.starts_at > now {
            let booking = BookingReference::parse(&visit.booking.reference)
                .ok_or_else(|| ClinicError::Internal(anyhow::anyhow!("malformed reference")))?;
            appointments::cancel(conn, &booking, actor, policy, overriding, now)?;
            cancelled.push(visit.booking.reference.clone());
        }
    }
    audit::record(
        conn,
        actor,
        AuditAction::SeriesCancel,
        Entity::Series(reference.as_str()),
        None,
        Some(json!({"cancelled": cancelled})),
        now,
    )?;
    load(conn, reference)
}
