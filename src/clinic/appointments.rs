//! Booking operations, each one write transaction: claim a slot for a patient, cancel,
//! reschedule, and the front desk's status changes. The slot's conditional update decides who
//! wins; the partial unique index on active bookings backs it up. Each change is written to the
//! audit log in the same transaction, with the actor the caller names.

use chrono::{Duration, NaiveDateTime};
use diesel::Connection;
use serde_json::json;

use super::audit::{self, Entity};
use super::{ClinicError, Unavailable};
use crate::db::bookings::{self, Booking, NewBooking};
use crate::db::outbox::{self, MailKind};
use crate::db::providers::{self, Provider};
use crate::db::slots::{self, Slot};
use crate::db::{is_unique_violation, DbConnection};
use crate::domain::actor::Actor;
use crate::domain::booking::{BookingReference, BookingSource, BookingStatus};
use crate::domain::ids::{BookingId, ProviderId, SlotId};
use crate::domain::intake::Concern;
use crate::domain::patient::Patient;
use crate::domain::slot::SlotStatus;

/// Who a visit is for and why: everything a booking request says but the time.
#[derive(Debug, Clone)]
pub struct Intake {
    pub patient: Patient,
    pub reason: Option<String>,
    pub source: BookingSource,
    pub concern: Option<Concern>,
}

/// A booking with the slot and provider it is for.
#[derive(Debug, Clone)]
pub struct BookingDetails {
    pub booking: Booking,
    pub slot: Slot,
    pub provider: Provider,
}

impl BookingDetails {
    pub fn status(&self) -> BookingStatus {
        self.booking.status
    }
}

fn slot_unavailable(slot: &Slot, now: NaiveDateTime) -> ClinicError {
    let reason = if slot.starts_at <= now {
        Unavailable::Started
    } else if slot.status == SlotStatus::Blocked {
        Unavailable::Blocked
    } else {
        Unavailable::Taken
    };
    ClinicError::SlotUnavailable {
        slot_id: slot.id,
        reason,
    }
}

fn invalid_transition(current: BookingStatus, wanted: &'static str) -> ClinicError {
    ClinicError::InvalidTransition { current, wanted }
}

/// Queues the reminder of a visit: `lead` before it starts, or at once when that moment has
/// passed (a booking made inside the window still gets exactly one reminder).
fn queue_reminder(
    conn: &mut DbConnection,
    booking_id: BookingId,
    starts_at: NaiveDateTime,
    lead: Duration,
    now: NaiveDateTime,
) -> Result<(), ClinicError> {
    outbox::enqueue(
        conn,
        MailKind::Reminder,
        booking_id,
        (starts_at - lead).max(now),
        now,
    )?;
    Ok(())
}

/// Claims the slot, records the booking and queues its confirmation and reminder, all in the
/// caller's write transaction.
/// A read before the write: 404 for an unknown slot, 409 for one that is not free or has
/// started. When hundreds of patients race for one slot, all but the first meet it here on
/// their way in, without queueing for the write lock (SQLite) or for the winner's row lock
/// (PostgreSQL). It decides nothing: a slot that passes is still claimed by `book`'s
/// conditional update, which alone says who gets it.
pub(crate) fn screen_slot(
    conn: &mut DbConnection,
    slot_id: SlotId,
    now: NaiveDateTime,
) -> Result<(), ClinicError> {
    let slot = slots::find(conn, slot_id)?.ok_or_else(|| ClinicError::NotFound("slot"))?;
    if slot.status != SlotStatus::Free || slot.starts_at <= now {
        return Err(slot_unavailable(&slot, now));
    }
    Ok(())
}

pub fn book(
    conn: &mut DbConnection,
    slot_id: SlotId,
    request: &Intake,
    actor: &Actor,
    reminder_lead: Duration,
    now: NaiveDateTime,
) -> Result<BookingDetails, ClinicError> {
    let (slot, provider) =
        slots::find_with_provider(conn, slot_id)?.ok_or_else(|| ClinicError::NotFound("slot"))?;
    if !provider.active || !slots::claim(conn, slot.id, now)? {
        return Err(slot_unavailable(&slot, now));
    }
    let reference = BookingReference::generate();
    let patient = &request.patient;
    let concern = request.concern.clone().unwrap_or_default();
    let inserted = NewBooking {
        reference: reference.as_str(),
        slot_id: slot.id,
        patient_name: patient.name.as_str(),
        patient_email: patient.email.as_str(),
        patient_phone: patient.phone.as_ref().map(|p| p.as_str()),
        patient_date_of_birth: patient.date_of_birth.map(|d| d.date()),
        reason: request.reason.as_deref(),
        source: &request.source,
        status: BookingStatus::Booked,
        created_at: now,
        updated_at: now,
        concern_area: concern.area.map(|a| a.as_str()),
        concern_onset: concern.onset.map(|o| o.as_str()),
        red_flags: concern.red_flags_text(),
        needs_review: concern.needs_review(),
    }
    .insert(conn);
    let booking = match inserted {
        Ok(booking) => booking,
        // The index on active bookings refused a second one: the slot was not really free.
        Err(e) if is_unique_violation(&e) => return Err(slot_unavailable(&slot, now)),
        Err(e) => return Err(e.into()),
    };
    audit::record(
        conn,
        actor,
        "booking.create",
        Entity::Booking(&booking.reference),
        None,
        Some(json!({
            "status": booking.status.as_str(),
            "slot_id": slot.id,
            "source": booking.source.as_str(),
        })),
        now,
    )?;
    outbox::enqueue(conn, MailKind::Confirmation, booking.id, now, now)?;
    queue_reminder(conn, booking.id, slot.starts_at, reminder_lead, now)?;
    let slot = Slot {
        status: SlotStatus::Busy,
        ..slot
    };
    Ok(BookingDetails {
        booking,
        slot,
        provider,
    })
}

/// Loads a booking by reference, with its slot and provider.
pub fn load(
    conn: &mut DbConnection,
    reference: &BookingReference,
) -> Result<BookingDetails, ClinicError> {
    let booking = bookings::find_by_reference(conn, reference.as_str())?
        .ok_or_else(|| ClinicError::NotFound("booking"))?;
    let (slot, provider) = slots::find_with_provider(conn, booking.slot_id)?
        .ok_or_else(|| ClinicError::Internal(anyhow::anyhow!("booking without its slot")))?;
    Ok(BookingDetails {
        booking,
        slot,
        provider,
    })
}

/// Cancels a booked visit, frees its slot for the next patient, and queues the cancellation mail
/// in place of the reminder. Patients may cancel only before the visit starts; staff (who may be
/// on the phone with them) at any time.
pub fn cancel(
    conn: &mut DbConnection,
    reference: &BookingReference,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<BookingDetails, ClinicError> {
    let details = load(conn, reference)?;
    let current = details.status();
    if !current.can_become(BookingStatus::Cancelled) {
        return Err(invalid_transition(current, "cancelled"));
    }
    if details.slot.starts_at <= now && !actor.is_staff() {
        return Err(ClinicError::VisitStarted("cancelled"));
    }
    if !bookings::transition(
        conn,
        details.booking.id,
        details.slot.id,
        current,
        BookingStatus::Cancelled,
        now,
    )? {
        return Err(ClinicError::ChangedMeanwhile("booking"));
    }
    slots::release(conn, details.slot.id)?;
    outbox::drop_pending_reminders(conn, details.booking.id)?;
    outbox::enqueue(conn, MailKind::Cancellation, details.booking.id, now, now)?;
    record_status_change(
        conn,
        actor,
        reference,
        current,
        BookingStatus::Cancelled,
        now,
    )?;
    load(conn, reference)
}

fn record_status_change(
    conn: &mut DbConnection,
    actor: &Actor,
    reference: &BookingReference,
    from: BookingStatus,
    to: BookingStatus,
    now: NaiveDateTime,
) -> Result<(), ClinicError> {
    audit::record(
        conn,
        actor,
        "booking.status",
        Entity::Booking(reference.as_str()),
        Some(json!({"status": from.as_str()})),
        Some(json!({"status": to.as_str()})),
        now,
    )?;
    Ok(())
}

/// Moves a booking to `target` if its life cycle allows it (409 naming the allowed next states
/// otherwise). Cancelling frees the slot, as `cancel` does.
pub(crate) fn set_status(
    conn: &mut DbConnection,
    reference: &BookingReference,
    target: BookingStatus,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<BookingDetails, ClinicError> {
    if target == BookingStatus::Cancelled {
        return cancel(conn, reference, actor, now);
    }
    let details = load(conn, reference)?;
    let current = details.status();
    if !current.can_become(target) {
        return Err(invalid_transition(current, target.as_str()));
    }
    if !bookings::transition(
        conn,
        details.booking.id,
        details.slot.id,
        current,
        target,
        now,
    )? {
        return Err(ClinicError::ChangedMeanwhile("booking"));
    }
    record_status_change(conn, actor, reference, current, target, now)?;
    load(conn, reference)
}

/// Moves a booked visit to another free slot and queues the change mail (and a new reminder).
/// Either everything changes or nothing does: the new slot is claimed first, and if that fails
/// the transaction rolls back untouched.
pub fn reschedule(
    conn: &mut DbConnection,
    reference: &BookingReference,
    new_slot_id: SlotId,
    actor: &Actor,
    reminder_lead: Duration,
    now: NaiveDateTime,
) -> Result<BookingDetails, ClinicError> {
    let details = load(conn, reference)?;
    let current = details.status();
    if current != BookingStatus::Booked {
        return Err(invalid_transition(current, "rescheduled"));
    }
    if details.slot.id == new_slot_id {
        return Ok(details);
    }
    if details.slot.starts_at <= now && !actor.is_staff() {
        return Err(ClinicError::VisitStarted("moved"));
    }
    let (new_slot, provider) = slots::find_with_provider(conn, new_slot_id)?
        .ok_or_else(|| ClinicError::NotFound("slot"))?;
    if !provider.active || !slots::claim(conn, new_slot.id, now)? {
        return Err(slot_unavailable(&new_slot, now));
    }
    if !bookings::move_to_slot(conn, details.booking.id, details.slot.id, new_slot.id, now)? {
        return Err(ClinicError::ChangedMeanwhile("booking"));
    }
    slots::release(conn, details.slot.id)?;
    outbox::drop_pending_reminders(conn, details.booking.id)?;
    outbox::enqueue(conn, MailKind::Change, details.booking.id, now, now)?;
    queue_reminder(
        conn,
        details.booking.id,
        new_slot.starts_at,
        reminder_lead,
        now,
    )?;
    audit::record(
        conn,
        actor,
        "booking.reschedule",
        Entity::Booking(reference.as_str()),
        Some(json!({"slot_id": details.slot.id})),
        Some(json!({"slot_id": new_slot.id})),
        now,
    )?;
    load(conn, reference)
}

/// How many of the earliest free slots a "book the earliest" request tries before giving up on
/// a burst of competitors.
const EARLIEST_CANDIDATES: i64 = 25;

/// Where "the earliest free slot" is looked for: one provider or any, starting in `[from, until)`.
#[derive(Debug, Clone, Copy)]
pub struct SlotSearch {
    pub provider_id: Option<ProviderId>,
    pub from: NaiveDateTime,
    pub until: NaiveDateTime,
}

/// Books the earliest free slot the search finds; `None` when there is none. Each candidate is
/// tried in its own savepoint, so losing a race for one slot moves on to the next.
pub fn book_earliest(
    conn: &mut DbConnection,
    intake: &Intake,
    search: SlotSearch,
    actor: &Actor,
    reminder_lead: Duration,
    now: NaiveDateTime,
) -> Result<Option<BookingDetails>, ClinicError> {
    let candidates = slots::free_between(
        conn,
        search.provider_id,
        search.from.max(now),
        search.until,
        EARLIEST_CANDIDATES,
    )?;
    for (slot, _) in candidates {
        match conn.transaction(|conn| book(conn, slot.id, intake, actor, reminder_lead, now)) {
            Ok(details) => return Ok(Some(details)),
            Err(ClinicError::SlotUnavailable { .. }) => continue,
            Err(ClinicError::Database(e)) if is_unique_violation(&e) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

/// What "book me the earliest time that fits" asks for.
#[derive(Debug, Clone, Copy)]
pub struct EarliestRequest {
    /// One provider, or any.
    pub provider_id: Option<ProviderId>,
    /// Not before this instant (default: now).
    pub not_before: Option<NaiveDateTime>,
    /// How many days ahead the clinic takes bookings.
    pub horizon_days: i64,
}

/// How many days that still have room a refusal of `book_earliest_fitting` names.
const SUGGESTED_DATES: usize = 5;

/// The call to action's booking: the earliest free slot that fits the request, within the
/// booking horizon; when none does, `NothingFits` names the next days that have room.
pub(crate) fn book_earliest_fitting(
    conn: &mut DbConnection,
    intake: &Intake,
    request: EarliestRequest,
    tz: chrono_tz::Tz,
    actor: &Actor,
    reminder_lead: Duration,
    now: NaiveDateTime,
) -> Result<BookingDetails, ClinicError> {
    if let Some(id) = request.provider_id {
        providers::find(conn, id)?
            .filter(|p| p.active)
            .ok_or(ClinicError::NotFound("provider"))?;
    }
    let from = request.not_before.unwrap_or(now).max(now);
    let until = now + Duration::days(request.horizon_days);
    let search = SlotSearch {
        provider_id: request.provider_id,
        from,
        until,
    };
    if let Some(details) = book_earliest(conn, intake, search, actor, reminder_lead, now)? {
        return Ok(details);
    }
    Err(ClinicError::NothingFits {
        within_days: request.horizon_days,
        next_dates: next_dates_with_room(conn, request.provider_id, from, tz, SUGGESTED_DATES)?,
    })
}

/// The first local dates, from `from` on, that still have a free slot (for one provider or any).
pub(crate) fn next_dates_with_room(
    conn: &mut DbConnection,
    provider_id: Option<ProviderId>,
    from: NaiveDateTime,
    tz: chrono_tz::Tz,
    count: usize,
) -> Result<Vec<chrono::NaiveDate>, ClinicError> {
    let until = from + Duration::days(366);
    let mut dates: Vec<chrono::NaiveDate> = Vec::new();
    for (slot, _) in slots::free_between(conn, provider_id, from, until, 2000)? {
        let date = slot.starts_at.and_utc().with_timezone(&tz).date_naive();
        if dates.last() != Some(&date) {
            dates.push(date);
            if dates.len() == count {
                break;
            }
        }
    }
    Ok(dates)
}
