//! A provider's time off: staff block a range (a vacation, a conference) with a reason. Free
//! slots in it are blocked at once; visits booked in it are either listed in a refusal, which
//! changes nothing, or cancelled with the reason, each patient getting the cancellation mail.
//! Removing a time off frees the slots it blocked and no other.

use chrono::NaiveDateTime;
use serde_json::json;

use super::appointments;
use super::audit::{self, Entity};
use super::offers;
use super::rules::BookingPolicy;
use super::ClinicError;
use crate::db::audit::AuditAction;
use crate::db::time_off::{self, NewTimeOff, TimeOff};
use crate::db::{bookings, providers, slots, DbConnection};
use crate::domain::actor::Actor;
use crate::domain::booking::BookingReference;
use crate::domain::ids::{ProviderId, SlotId, TimeOffId};
use crate::domain::rules::RuleOverride;
use crate::domain::time_off::TimeOffRange;

/// The most time off entries one list answers.
pub(crate) const MAX_LISTED: i64 = 500;

/// A time off entered, with what it did.
#[derive(Debug, Clone)]
pub(crate) struct TimeOffEntered {
    pub time_off: TimeOff,
    /// Free slots it blocked.
    pub blocked: usize,
    /// The references of the visits it cancelled.
    pub cancelled: Vec<String>,
}

/// A booked visit as a refusal names it: its reference and when it starts.
type BookedVisit = (String, NaiveDateTime);

/// The provider's slots over `[start, end)`, and the visits still booked in them.
fn booked_within(
    conn: &mut DbConnection,
    provider_id: ProviderId,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> Result<(Vec<SlotId>, Vec<BookedVisit>), ClinicError> {
    let covered: Vec<SlotId> = slots::overlapping(conn, provider_id, start, end)?
        .into_iter()
        .map(|s| s.id)
        .collect();
    let booked = bookings::booked_holding(conn, &covered)?;
    Ok((covered, booked))
}

/// Enters time off for a provider, in the caller's write transaction. With visits booked in the
/// range it refuses (`TimeOffHitsBookings`, nothing changed) unless `cancel_bookings`, when it
/// cancels each as staff would, with the reason for the patient's mail.
pub(crate) fn enter(
    conn: &mut DbConnection,
    provider_id: ProviderId,
    range: &TimeOffRange,
    cancel_bookings: bool,
    actor: &Actor,
    policy: &BookingPolicy,
    now: NaiveDateTime,
) -> Result<TimeOffEntered, ClinicError> {
    // Taken first, so schedules and single slots for this provider wait for the time off.
    if !providers::lock_for_schedule(conn, provider_id)? {
        return Err(ClinicError::NotFound("provider"));
    }
    let (start, end) = (range.start().naive_utc(), range.end().naive_utc());
    let (_, booked) = booked_within(conn, provider_id, start, end)?;
    if !booked.is_empty() && !cancel_bookings {
        return Err(ClinicError::TimeOffHitsBookings { bookings: booked });
    }
    // The time off is written before its visits are cancelled: the time they free is inside it,
    // and so offered to nobody on the waitlist (`offers` skips time off).
    let entry = NewTimeOff {
        provider_id,
        starts_at: start,
        ends_at: end,
        reason: range.reason(),
        created_by: actor.user_id(),
        created_at: now,
    }
    .insert(conn)?;
    let mut cancelled = Vec::with_capacity(booked.len());
    // The clinic cancels for its own reasons, inside the patients' cut-off too; the audit entry
    // names the time off, never the reason the patients read.
    let overriding = RuleOverride::parse("the provider's time off").map_err(anyhow::Error::msg)?;
    for (reference, _) in booked {
        let parsed = BookingReference::parse(&reference)
            .ok_or_else(|| anyhow::anyhow!("stored booking reference is malformed"))?;
        appointments::cancel_because(
            conn,
            &parsed,
            actor,
            policy,
            Some(&overriding),
            Some(range.reason()),
            now,
        )?;
        cancelled.push(reference);
    }
    let blocked = slots::block_free_overlapping(conn, provider_id, start, end)?;
    // A visit booked between the check above and the blocks (PostgreSQL lets a booking claim a
    // slot meanwhile) would be left inside the time off: refuse, and everything rolls back.
    let (covered, booked) = booked_within(conn, provider_id, start, end)?;
    if !booked.is_empty() {
        return Err(ClinicError::TimeOffHitsBookings { bookings: booked });
    }
    // Slots another time off blocked are held by this one too, so removing either leaves them
    // blocked while the other stands. Slots staff blocked by hand are not held: they stay.
    let mut held = blocked.clone();
    held.extend(time_off::held_among(conn, &covered)?);
    held.sort_unstable();
    held.dedup();
    time_off::hold(conn, entry.id, &held)?;
    audit::record(
        conn,
        actor,
        AuditAction::TimeOffCreate,
        Entity::TimeOff(entry.id),
        None,
        // The reason is the staff's own words about a person: it stays out of the log.
        Some(json!({
            "provider_id": provider_id,
            "start": entry.starts_at.and_utc().to_rfc3339(),
            "end": entry.ends_at.and_utc().to_rfc3339(),
            "blocked_slots": blocked.len(),
            "cancelled_bookings": cancelled,
        })),
        now,
    )?;
    Ok(TimeOffEntered {
        time_off: entry,
        blocked: blocked.len(),
        cancelled,
    })
}

/// The provider's time off, latest first; 404 for a provider who does not exist.
pub(crate) fn list(
    conn: &mut DbConnection,
    provider_id: ProviderId,
) -> Result<Vec<TimeOff>, ClinicError> {
    providers::find(conn, provider_id)?.ok_or(ClinicError::NotFound("provider"))?;
    Ok(time_off::of_provider(conn, provider_id, MAX_LISTED)?)
}

/// Removes a time off, in the caller's write transaction, and frees the slots it blocked that
/// are still blocked and held by no other time off; returns how many it freed.
pub(crate) fn remove(
    conn: &mut DbConnection,
    provider_id: ProviderId,
    id: TimeOffId,
    actor: &Actor,
    policy: &BookingPolicy,
    now: NaiveDateTime,
) -> Result<usize, ClinicError> {
    if !providers::lock_for_schedule(conn, provider_id)? {
        return Err(ClinicError::NotFound("provider"));
    }
    let entry = time_off::find(conn, provider_id, id)?.ok_or(ClinicError::NotFound("time off"))?;
    let released = time_off::remove(conn, id)?;
    let freed = slots::unblock(conn, &released)?;
    // The time the clinic has again goes to the waitlist.
    let open = slots::free_of(conn, &released)?;
    for span in offers::Freed::spans(&open, now) {
        offers::offer_freed(conn, &span, actor, policy, now)?;
    }
    audit::record(
        conn,
        actor,
        AuditAction::TimeOffDelete,
        Entity::TimeOff(id),
        Some(json!({
            "provider_id": provider_id,
            "start": entry.starts_at.and_utc().to_rfc3339(),
            "end": entry.ends_at.and_utc().to_rfc3339(),
        })),
        Some(json!({"freed_slots": freed})),
        now,
    )?;
    Ok(freed)
}
