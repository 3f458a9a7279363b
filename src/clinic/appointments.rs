//! Booking operations, each one write transaction: claim a slot for a patient, cancel,
//! reschedule, and the front desk's status changes. The slot's conditional update decides who
//! wins; the partial unique index on active bookings backs it up. Each change is written to the
//! audit log in the same transaction, with the actor the caller names. Each operation that makes,
//! cancels or moves a booking first asks `rules` whether the clinic's booking rules allow it.

use chrono::{Duration, NaiveDateTime};
use diesel::Connection;
use serde_json::json;

use super::audit::{self, Entity};
use super::rules::{self, Allowed, BookingPolicy};
use super::{holds, locations, offers, openings, patients, texts};
use super::{slot_unavailable, ClinicError, Unavailable};
use crate::db::audit::AuditAction;
use crate::db::bookings::{self, Booking, NewBooking};
use crate::db::holds as db_holds;
use crate::db::locations::Location;
use crate::db::outbox::{self, MailKind};
use crate::db::providers::{self, Provider};
use crate::db::slots::{self, AtLocation, OpenBetween, Slot};
use crate::db::texts::TextKind;
use crate::db::visit_types::{self, VisitType};
use crate::db::{is_unique_violation, DbConnection};
use crate::domain::actor::Actor;
use crate::domain::booking::{BookingReference, BookingSource, BookingStatus};
use crate::domain::hold::HoldToken;
use crate::domain::ids::{HoldId, LocationId, ProviderId, SeriesId, SlotId, VisitTypeId};
use crate::domain::intake::Concern;
use crate::domain::patient::Patient;
use crate::domain::rules::{Rule, RuleOverride};
use crate::domain::slot::SlotStatus;

/// Who a visit is for and why: everything a booking request says but the time.
#[derive(Debug, Clone)]
pub struct Intake {
    pub patient: Patient,
    pub reason: Option<String>,
    pub source: BookingSource,
    pub concern: Option<Concern>,
    /// The kind of visit; none books exactly the slot named (the API before visit types).
    pub visit_type_id: Option<VisitTypeId>,
    /// The course of care the visit belongs to. Its visits get one confirmation between them,
    /// queued by `series::book` once all are booked.
    pub series_id: Option<SeriesId>,
    /// The hold on this time the booking converts (`clinic::holds`).
    pub hold: Option<HoldClaim>,
}

/// A hold a booking names.
#[derive(Debug, Clone)]
pub enum HoldClaim {
    /// The one the patient took while filling in the form, by its token; checked to keep the
    /// time booked (`holds::for_booking`).
    Token(HoldToken),
    /// A waitlist offer's, which keeps the offer's own time: the offer names it.
    Offer(HoldId),
}

/// A booking with the slot and provider it is for.
#[derive(Debug, Clone)]
pub struct BookingDetails {
    pub booking: Booking,
    /// The visit as booked: its first slot, with `ends_at` where the visit ends (a visit type
    /// longer than one slot holds the slots after it too; see `booking_slots`).
    pub slot: Slot,
    pub provider: Provider,
    pub visit_type: Option<VisitType>,
    /// Where the visit is: its first slot's location (a visit's slots are all at one).
    pub location: Location,
}

impl BookingDetails {
    /// A booking as stored, with its first slot, provider, visit type and location.
    pub fn new(
        booking: Booking,
        slot: Slot,
        provider: Provider,
        visit_type: Option<VisitType>,
        location: Location,
    ) -> Self {
        let slot = Slot {
            ends_at: booking.ends_at.unwrap_or(slot.ends_at),
            ..slot
        };
        Self {
            booking,
            slot,
            provider,
            visit_type,
            location,
        }
    }

    pub fn status(&self) -> BookingStatus {
        self.booking.status
    }
}

/// A step the life cycle does not allow; the answer names the steps it allows now.
fn invalid_transition(
    details: &BookingDetails,
    wanted: &'static str,
    now: NaiveDateTime,
) -> ClinicError {
    let current = details.status();
    ClinicError::InvalidTransition {
        current,
        wanted,
        allowed: current.next_states_at(details.slot.starts_at, now),
    }
}

/// Queues the reminder of a visit (a mail, and a text when the patient takes them): the
/// policy's lead before it starts, or at once when that moment has passed (a booking made inside
/// the window still gets exactly one reminder).
fn queue_reminder(
    conn: &mut DbConnection,
    booking: &Booking,
    starts_at: NaiveDateTime,
    policy: &BookingPolicy,
    now: NaiveDateTime,
) -> Result<(), ClinicError> {
    let due = starts_at
        .checked_sub_signed(policy.reminder_lead)
        .unwrap_or(now)
        .max(now);
    outbox::enqueue(conn, MailKind::Reminder, booking.id, due, now)?;
    texts::queue(conn, policy, booking, TextKind::Reminder, due, now)
}

/// Claims the slot, records the booking and queues its confirmation and reminder, all in the
/// caller's write transaction.
/// A read before the write: 404 for an unknown slot, 409 for one that is not free or has
/// started. When hundreds of patients race for one slot, all but the first meet it here on
/// their way in, without queueing for the write lock (SQLite) or for the winner's row lock
/// (PostgreSQL). It decides nothing: a slot that passes is still claimed by `book`'s
/// conditional update, which alone says who gets it.
/// A slot kept by a hold is refused here too, unless the request names a hold (which may be the
/// one keeping it: `book` finds out).
pub(crate) fn screen_slot(
    conn: &mut DbConnection,
    slot_id: SlotId,
    with_hold: bool,
    now: NaiveDateTime,
) -> Result<(), ClinicError> {
    let slot = slots::find(conn, slot_id)?.ok_or_else(|| ClinicError::NotFound("slot"))?;
    let held = slot.held_until.is_some_and(|until| until > now);
    if slot.status != SlotStatus::Free || slot.starts_at <= now || (held && !with_hold) {
        return Err(slot_unavailable(&slot, true, now));
    }
    Ok(())
}

/// `overriding`, a staff member's reason, sets the booking rules' timing aside (see `rules`).
pub fn book(
    conn: &mut DbConnection,
    slot_id: SlotId,
    request: &Intake,
    actor: &Actor,
    policy: &BookingPolicy,
    overriding: Option<&RuleOverride>,
    now: NaiveDateTime,
) -> Result<BookingDetails, ClinicError> {
    let (slot, provider) =
        slots::find_with_provider(conn, slot_id)?.ok_or_else(|| ClinicError::NotFound("slot"))?;
    let visit_type = match request.visit_type_id {
        Some(id) => Some(visit_type_for(
            conn,
            id,
            &provider,
            &request.patient,
            actor,
        )?),
        None => None,
    };
    let allowed = rules::check_booking(
        conn,
        policy,
        (&slot, visit_type.as_ref()),
        (&request.patient.email, request.series_id),
        actor,
        overriding,
        now,
    )?;
    if !provider.active {
        return Err(slot_unavailable(&slot, provider.active, now));
    }
    let hold = match &request.hold {
        Some(HoldClaim::Token(token)) => {
            holds::for_booking(conn, token, (slot_id, request.visit_type_id), now)?
        }
        Some(HoldClaim::Offer(hold)) => Some(*hold),
        None => None,
    };
    let (held, visit_end) = claim_visit(conn, &slot, visit_type.as_ref(), hold, now)?;
    let reference = BookingReference::generate();
    let patient = &request.patient;
    let patient_id = patients::match_or_create(conn, patient, now)?;
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
        visit_type_id: request.visit_type_id,
        ends_at: Some(visit_end),
        series_id: request.series_id,
        sms_consent: patient.sms_consent && patient.phone.is_some(),
        patient_id: Some(patient_id),
        language: patient.language,
    }
    .insert(conn);
    let booking = match inserted {
        Ok(booking) => booking,
        // The index on active bookings refused a second one: the slot was not really free.
        Err(e) if is_unique_violation(&e) => {
            return Err(slot_unavailable(&slot, provider.active, now))
        }
        Err(e) => return Err(e.into()),
    };
    match slots::hold(conn, booking.id, &held) {
        Ok(()) => {}
        Err(e) if is_unique_violation(&e) => {
            return Err(slot_unavailable(&slot, provider.active, now))
        }
        Err(e) => return Err(e.into()),
    }
    if let Some(hold) = hold {
        db_holds::mark_booked(conn, hold, booking.id)?;
    }
    audit::record(
        conn,
        actor,
        AuditAction::BookingCreate,
        Entity::Booking(&booking.reference),
        None,
        Some(allowed.noted(json!({
            "status": booking.status.as_str(),
            "slot_id": slot.id,
            "source": booking.source.as_str(),
            "visit_type_id": request.visit_type_id,
        }))),
        now,
    )?;
    // A course's visits get one confirmation between them (`series::book`); a time taken from
    // the waitlist gets the waitlist's own.
    if request.series_id.is_none() {
        let kind = if matches!(request.hold, Some(HoldClaim::Offer(_))) {
            MailKind::WaitlistAccepted
        } else {
            MailKind::Confirmation
        };
        outbox::enqueue(conn, kind, booking.id, now, now)?;
        texts::queue(conn, policy, &booking, TextKind::Confirmation, now, now)?;
    }
    queue_reminder(conn, &booking, slot.starts_at, policy, now)?;
    let location = locations::of_slot(conn, slot.location_id)?;
    let slot = Slot {
        status: SlotStatus::Busy,
        ends_at: visit_end,
        ..slot
    };
    Ok(BookingDetails {
        booking,
        slot,
        provider,
        visit_type,
        location,
    })
}

/// The visit type a booking with `provider` asks for: it must exist, be active and be offered by
/// the provider; one for returning patients only needs, online, an earlier visit by the same
/// address (staff book it for anyone).
fn visit_type_for(
    conn: &mut DbConnection,
    id: VisitTypeId,
    provider: &Provider,
    patient: &Patient,
    actor: &Actor,
) -> Result<VisitType, ClinicError> {
    let visit_type = openings::active_visit_type(conn, id)?;
    if !visit_types::is_offered_by(conn, id, provider.id)? {
        return Err(ClinicError::invalid(
            "visit_type_id",
            format!("{} does not offer {}", provider.name, visit_type.name),
        ));
    }
    if !visit_type.new_patients_online
        && !actor.acts_for_clinic()
        && !bookings::has_visited(conn, patient.email.as_str())?
    {
        return Err(ClinicError::ReturningPatientsOnly(visit_type.name));
    }
    Ok(visit_type)
}

/// Claims the slots a visit from `first` holds (`visit_run`), in order of start, and answers
/// them with the visit's end. Each claim is the conditional update of `slots::claim`, which lets
/// `hold` (the patient's own, if they took one) through; the caller's transaction rolls back the
/// ones before a refusal. Claiming in order of start means two bookings that want overlapping
/// runs of one provider meet at their first shared slot, never each holding what the other
/// waits for.
fn claim_visit(
    conn: &mut DbConnection,
    first: &Slot,
    visit_type: Option<&VisitType>,
    hold: Option<HoldId>,
    now: NaiveDateTime,
) -> Result<(Vec<SlotId>, NaiveDateTime), ClinicError> {
    let (run, visit_end) = openings::visit_run(conn, first, visit_type)?;
    let mut held = Vec::with_capacity(run.len());
    for (i, slot) in run.iter().enumerate() {
        if !slots::claim(conn, slot.id, now, hold)? {
            return Err(if i == 0 {
                slot_unavailable(first, true, now)
            } else {
                ClinicError::SlotUnavailable {
                    slot_id: first.id,
                    reason: Unavailable::DoesNotFit,
                }
            });
        }
        held.push(slot.id);
    }
    Ok((held, visit_end))
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
    let visit_type = match booking.visit_type_id {
        Some(id) => visit_types::find(conn, id)?,
        None => None,
    };
    let location = locations::of_slot(conn, slot.location_id)?;
    Ok(BookingDetails::new(
        booking, slot, provider, visit_type, location,
    ))
}

/// Cancels a booked visit, frees its slot for the next patient, and queues the cancellation mail
/// in place of the reminder. Patients may cancel only until the rules' cut-off; staff (who may
/// be on the phone with them) too, or later with an override, even once the visit has started.
pub fn cancel(
    conn: &mut DbConnection,
    reference: &BookingReference,
    actor: &Actor,
    policy: &BookingPolicy,
    overriding: Option<&RuleOverride>,
    now: NaiveDateTime,
) -> Result<BookingDetails, ClinicError> {
    cancel_because(conn, reference, actor, policy, overriding, None, now)
}

/// As `cancel`, with the clinic's reason (the provider's time off, ...), which the cancellation
/// mail gives the patient. The reason is stored with the booking for the outbox worker, and
/// kept out of the audit log.
pub(crate) fn cancel_because(
    conn: &mut DbConnection,
    reference: &BookingReference,
    actor: &Actor,
    policy: &BookingPolicy,
    overriding: Option<&RuleOverride>,
    reason: Option<&str>,
    now: NaiveDateTime,
) -> Result<BookingDetails, ClinicError> {
    let details = load(conn, reference)?;
    let current = details.status();
    if !current.can_become(BookingStatus::Cancelled) {
        return Err(invalid_transition(&details, "cancelled", now));
    }
    if details.slot.starts_at <= now && !actor.is_staff() {
        return Err(ClinicError::VisitStarted("cancelled"));
    }
    let allowed = rules::check_cancel(
        policy,
        (&details.slot, details.visit_type.as_ref()),
        actor,
        overriding,
        now,
    )?;
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
    slots::let_go(conn, details.booking.id)?;
    if let Some(reason) = reason {
        bookings::set_cancel_reason(conn, details.booking.id, reason)?;
    }
    let freed = offers::Freed::slot(&details.slot, details.slot.ends_at, now);
    offers::offer_freed(conn, &freed, actor, policy, now)?;
    outbox::drop_pending_reminders(conn, details.booking.id)?;
    outbox::enqueue(conn, MailKind::Cancellation, details.booking.id, now, now)?;
    texts::drop_pending_reminders(conn, &details.booking)?;
    texts::queue(
        conn,
        policy,
        &details.booking,
        TextKind::Cancellation,
        now,
        now,
    )?;
    record_status_change(
        conn,
        actor,
        reference,
        (current, BookingStatus::Cancelled),
        &allowed,
        now,
    )?;
    load(conn, reference)
}

fn record_status_change(
    conn: &mut DbConnection,
    actor: &Actor,
    reference: &BookingReference,
    (from, to): (BookingStatus, BookingStatus),
    allowed: &Allowed<'_>,
    now: NaiveDateTime,
) -> Result<(), ClinicError> {
    audit::record(
        conn,
        actor,
        AuditAction::BookingStatus,
        Entity::Booking(reference.as_str()),
        Some(json!({"status": from.as_str()})),
        Some(allowed.noted(json!({"status": to.as_str()}))),
        now,
    )?;
    Ok(())
}

/// Moves a booking to `target` if its life cycle allows it (409 naming the allowed next states
/// otherwise). Cancelling is `cancel`, under its rules; the other steps (check-in, completion,
/// no-show) record what happened at the desk and no booking rule concerns them.
pub(crate) fn set_status(
    conn: &mut DbConnection,
    reference: &BookingReference,
    target: BookingStatus,
    actor: &Actor,
    policy: &BookingPolicy,
    overriding: Option<&RuleOverride>,
    now: NaiveDateTime,
) -> Result<BookingDetails, ClinicError> {
    if target == BookingStatus::Cancelled {
        return cancel(conn, reference, actor, policy, overriding, now);
    }
    if overriding.is_some() {
        return Err(ClinicError::invalid(
            "override",
            "the booking rules concern only cancelling here; leave `override` out",
        ));
    }
    let details = load(conn, reference)?;
    let current = details.status();
    if !current.can_become(target) {
        return Err(invalid_transition(&details, target.as_str(), now));
    }
    if let Some(rule) = target.refused_at(details.slot.starts_at, now) {
        return Err(ClinicError::NotNow {
            current,
            rule,
            allowed: current.next_states_at(details.slot.starts_at, now),
        });
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
    record_status_change(
        conn,
        actor,
        reference,
        (current, target),
        &Allowed::default(),
        now,
    )?;
    load(conn, reference)
}

/// Moves a booked visit to another free slot and queues the change mail (and a new reminder).
/// Either everything changes or nothing does: the new slot is claimed first, and if that fails
/// the transaction rolls back untouched. The rules hold the visit as booked to the cut-off and
/// the new time to the notice and horizon.
pub fn reschedule(
    conn: &mut DbConnection,
    reference: &BookingReference,
    new_slot_id: SlotId,
    actor: &Actor,
    policy: &BookingPolicy,
    overriding: Option<&RuleOverride>,
    now: NaiveDateTime,
) -> Result<BookingDetails, ClinicError> {
    let details = load(conn, reference)?;
    let current = details.status();
    if current != BookingStatus::Booked {
        return Err(invalid_transition(&details, "rescheduled", now));
    }
    if details.slot.id == new_slot_id {
        return Ok(details);
    }
    if details.slot.starts_at <= now && !actor.is_staff() {
        return Err(ClinicError::VisitStarted("moved"));
    }
    let (new_slot, provider) = slots::find_with_provider(conn, new_slot_id)?
        .ok_or_else(|| ClinicError::NotFound("slot"))?;
    let allowed = rules::check_move(
        policy,
        (&details.slot, &new_slot),
        details.visit_type.as_ref(),
        actor,
        overriding,
        now,
    )?;
    if !provider.active {
        return Err(slot_unavailable(&new_slot, provider.active, now));
    }
    if let Some(visit_type) = &details.visit_type {
        if !visit_types::is_offered_by(conn, visit_type.id, provider.id)? {
            return Err(ClinicError::invalid(
                "slot_id",
                format!("{} does not offer {}", provider.name, visit_type.name),
            ));
        }
    }
    // The old slots go first: a visit moved by less than its length takes some of them back.
    // Should the new ones be refused, the savepoint restores everything.
    conn.transaction(|conn| {
        let id = details.booking.id;
        match bookings::move_to_slot(conn, id, details.slot.id, new_slot.id, now) {
            Ok(true) => {}
            Ok(false) => return Err(ClinicError::ChangedMeanwhile("booking")),
            // Another active booking starts at the new slot.
            Err(e) if is_unique_violation(&e) => {
                return Err(slot_unavailable(&new_slot, true, now))
            }
            Err(e) => return Err(e.into()),
        }
        slots::let_go(conn, id)?;
        let (held, visit_end) =
            claim_visit(conn, &new_slot, details.visit_type.as_ref(), None, now)?;
        slots::hold(conn, id, &held)?;
        bookings::set_visit_end(conn, id, visit_end)?;
        Ok::<_, ClinicError>(())
    })?;
    // The old time, where the new one does not take it back, goes to the waitlist.
    let freed = offers::Freed::slot(&details.slot, details.slot.ends_at, now);
    offers::offer_freed(conn, &freed, actor, policy, now)?;
    outbox::drop_pending_reminders(conn, details.booking.id)?;
    outbox::enqueue(conn, MailKind::Change, details.booking.id, now, now)?;
    texts::drop_pending_reminders(conn, &details.booking)?;
    texts::queue(conn, policy, &details.booking, TextKind::Change, now, now)?;
    queue_reminder(conn, &details.booking, new_slot.starts_at, policy, now)?;
    audit::record(
        conn,
        actor,
        AuditAction::BookingReschedule,
        Entity::Booking(reference.as_str()),
        Some(json!({"slot_id": details.slot.id})),
        Some(allowed.noted(json!({"slot_id": new_slot.id}))),
        now,
    )?;
    load(conn, reference)
}

/// How many of the earliest free slots a "book the earliest" request tries before giving up on
/// a burst of competitors.
const EARLIEST_CANDIDATES: usize = 25;

/// Where "the earliest free slot" is looked for: one provider or any, starting in `[from, until)`.
#[derive(Debug, Clone, Copy)]
pub struct SlotSearch<'v> {
    /// The intake's visit type, read once by the caller.
    pub visit_type: Option<&'v VisitType>,
    pub provider_id: Option<ProviderId>,
    /// One location, or any.
    pub place: Option<AtLocation>,
    pub from: NaiveDateTime,
    pub until: NaiveDateTime,
}

/// Books the earliest free slot the search finds that the booking rules allow; `None` when
/// there is none. Each candidate is tried in its own savepoint, so losing a race for one slot
/// moves on to the next. The patient's number of upcoming visits refuses them all, so it ends
/// the search.
pub fn book_earliest(
    conn: &mut DbConnection,
    intake: &Intake,
    search: SlotSearch<'_>,
    actor: &Actor,
    policy: &BookingPolicy,
    now: NaiveDateTime,
) -> Result<Option<BookingDetails>, ClinicError> {
    let between = OpenBetween {
        from: search.from.max(now),
        until: search.until,
        now,
    };
    let candidates = openings::open_times(
        conn,
        search.visit_type,
        search.provider_id,
        search.place,
        between,
        EARLIEST_CANDIDATES,
    )?;
    for (slot, _) in candidates {
        match conn.transaction(|conn| book(conn, slot.id, intake, actor, policy, None, now)) {
            Ok(details) => return Ok(Some(details)),
            Err(ClinicError::SlotUnavailable { .. }) => continue,
            // A slot whose own rules (a visit type's) want more notice, say: try a later one.
            Err(ClinicError::BrokenRule(broken)) if broken.rule != Rule::MaxActive => continue,
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
    /// One location, or any.
    pub location_id: Option<LocationId>,
    /// Not before this instant (default: now).
    pub not_before: Option<NaiveDateTime>,
}

/// How many days that still have room a refusal of `book_earliest_fitting` names.
const SUGGESTED_DATES: usize = 5;

/// The call to action's booking: the earliest free slot that fits the request and the booking
/// rules (from the minimum notice on, within the horizon), so it books a time the rules allow
/// rather than failing on one they do not; when none does, `NothingFits` names the next days
/// that have room.
pub(crate) fn book_earliest_fitting(
    conn: &mut DbConnection,
    intake: &Intake,
    request: EarliestRequest,
    tz: chrono_tz::Tz,
    actor: &Actor,
    policy: &BookingPolicy,
    now: NaiveDateTime,
) -> Result<BookingDetails, ClinicError> {
    if let Some(id) = request.provider_id {
        providers::find(conn, id)?
            .filter(|p| p.active)
            .ok_or(ClinicError::NotFound("provider"))?;
    }
    let visit_type = match intake.visit_type_id {
        Some(id) => Some(openings::active_visit_type(conn, id)?),
        None => None,
    };
    let place = match request.location_id {
        Some(id) => Some(locations::place(conn, id)?),
        None => None,
    };
    let (earliest, until) = rules::bookable_window(policy, visit_type.as_ref(), now);
    let from = request.not_before.unwrap_or(now).max(earliest);
    let search = SlotSearch {
        visit_type: visit_type.as_ref(),
        provider_id: request.provider_id,
        place,
        from,
        until,
    };
    if let Some(details) = book_earliest(conn, intake, search, actor, policy, now)? {
        return Ok(details);
    }
    Err(ClinicError::NothingFits {
        within_days: rules::rules_for(policy, visit_type.as_ref())
            .horizon
            .num_days(),
        next_dates: next_dates_with_room(
            conn,
            (request.provider_id, place),
            visit_type.as_ref(),
            (from, now),
            tz,
        )?,
    })
}

/// The first local dates, from `from` on, that still have room for the visit asked for (a free
/// slot, or where its visit type fits), with one provider or any.
fn next_dates_with_room(
    conn: &mut DbConnection,
    (provider_id, place): (Option<ProviderId>, Option<AtLocation>),
    visit_type: Option<&VisitType>,
    (from, now): (NaiveDateTime, NaiveDateTime),
    tz: chrono_tz::Tz,
) -> Result<Vec<chrono::NaiveDate>, ClinicError> {
    let until = from
        .checked_add_signed(Duration::days(366))
        .unwrap_or(NaiveDateTime::MAX);
    let between = OpenBetween { from, until, now };
    let open = openings::open_times(conn, visit_type, provider_id, place, between, 2000)?;
    let mut dates: Vec<chrono::NaiveDate> = Vec::new();
    for (slot, _) in open {
        let date = slot.starts_at.and_utc().with_timezone(&tz).date_naive();
        if dates.last() != Some(&date) {
            dates.push(date);
            if dates.len() == SUGGESTED_DATES {
                break;
            }
        }
    }
    Ok(dates)
}

#[cfg(test)]
mod tests {
    //! The booking life cycle as the operations enforce it, on an in-memory SQLite database:
    //! which changes each state allows, what a refusal says, and that a refused change leaves
    //! everything as it was.

    use chrono::{DateTime, Utc};
    use diesel::prelude::*;
    use diesel::sqlite::SqliteConnection;

    use super::*;
    use crate::clinic::front_desk;
    use crate::db::slots::NewSlot;
    use crate::domain::booking::BookingSource;
    use crate::domain::ids::UserId;
    use crate::domain::patient::PatientInput;
    use crate::domain::provider::ProviderFields;
    use crate::domain::rules::BookingRules;
    use crate::domain::staff::{Role, StaffIdentity};
    use crate::domain::FieldErrors;

    fn database() -> DbConnection {
        let sqlite = SqliteConnection::establish(":memory:").expect("in-memory SQLite");
        let mut conn = DbConnection::Sqlite(sqlite);
        crate::db::run_migrations(&mut conn).expect("migrations");
        // The staff member of `staff()`, whom the audit entries name.
        crate::db::users::NewUser {
            email: "desk@clinic.example",
            password_hash: "not-a-hash",
            role: Role::FrontDesk,
            active: true,
            created_at: crate::db::now(),
        }
        .insert(&mut conn)
        .expect("staff account");
        super::locations::ensure_main(
            &mut conn,
            &super::locations::ClinicAddress {
                name: "Desert Spine & Pain Clinic",
                address: "4410 N 7th St, Phoenix, AZ 85014",
                phone: "+1 (602) 555-0134",
                timezone: crate::domain::location::TimeZone::new(chrono_tz::America::Phoenix),
            },
        )
        .expect("main location");
        conn
    }

    fn staff() -> Actor {
        Actor::Staff(StaffIdentity {
            user_id: UserId::new(1),
            email: "desk@clinic.example".into(),
            role: Role::FrontDesk,
        })
    }

    /// The clinic's default rules: 2 hours' notice, 90 days ahead, a 24-hour cut-off, 3
    /// upcoming visits per address.
    fn policy() -> BookingPolicy {
        BookingPolicy {
            rules: BookingRules::default(),
            reminder_lead: Duration::hours(24),
            text: "Please cancel early.".into(),
            clinic_phone: "+1 (602) 555-0134".into(),
            hold: Duration::minutes(5),
            offer: Duration::minutes(15),
            texts: None,
        }
    }

    fn intake() -> Intake {
        let mut errors = FieldErrors::default();
        let input = PatientInput {
            name: "Ana Díaz",
            email: "ana@example.com",
            ..Default::default()
        };
        Intake {
            patient: Patient::parse(input, Utc::now().date_naive(), &mut errors)
                .expect("a valid patient"),
            reason: None,
            source: BookingSource::named(BookingSource::WEBSITE),
            concern: None,
            visit_type_id: None,
            series_id: None,
            hold: None,
        }
    }

    /// A provider with one free slot starting `minutes` from now (negative: in the past).
    fn slot_at(conn: &mut DbConnection, provider: Option<ProviderId>, minutes: i64) -> Slot {
        let provider = provider.unwrap_or_else(|| {
            let fields = ProviderFields {
                name: Some("Dr. Rivera".into()),
                ..Default::default()
            };
            front_desk::create_provider(conn, &fields, &staff())
                .expect("provider")
                .id
        });
        let start = crate::db::now() + Duration::minutes(minutes);
        NewSlot {
            provider_id: provider,
            starts_at: start,
            ends_at: start + Duration::minutes(30),
            status: SlotStatus::Free,
            visit_type: None,
            created_at: crate::db::now(),
            location_id: None,
        }
        .insert(conn)
        .expect("slot")
    }

    fn book_new(conn: &mut DbConnection, minutes: i64) -> (BookingDetails, BookingReference) {
        let slot = slot_at(conn, None, minutes);
        let details = book(
            conn,
            slot.id,
            &intake(),
            &Actor::Public,
            &policy(),
            None,
            crate::db::now(),
        )
        .expect("booked");
        let reference = BookingReference::parse(&details.booking.reference).expect("reference");
        (details, reference)
    }

    fn now() -> NaiveDateTime {
        crate::db::now()
    }

    /// A status change at the desk, held to the clinic's rules without an override.
    fn desk(
        conn: &mut DbConnection,
        reference: &BookingReference,
        target: BookingStatus,
        at: NaiveDateTime,
    ) -> Result<BookingDetails, ClinicError> {
        set_status(conn, reference, target, &staff(), &policy(), None, at)
    }

    /// Three hours ahead: past the 2-hour notice, within the 12 hours of check-in.
    const SOON: i64 = 180;
    /// Two days ahead: before the 24-hour cut-off.
    const IN_TWO_DAYS: i64 = 60 * 48;

    #[test]
    fn a_visit_goes_booked_arrived_completed() {
        let mut conn = database();
        let (details, reference) = book_new(&mut conn, SOON);
        assert_eq!(details.status(), BookingStatus::Booked);
        let arrived = desk(&mut conn, &reference, BookingStatus::Arrived, now()).expect("check-in");
        assert_eq!(arrived.status(), BookingStatus::Arrived);
        let done = desk(&mut conn, &reference, BookingStatus::Completed, now()).expect("completed");
        assert_eq!(done.status(), BookingStatus::Completed);
        assert_eq!(
            done.slot.status,
            SlotStatus::Busy,
            "a completed visit keeps its slot"
        );
    }

    #[test]
    fn every_refused_transition_names_the_allowed_ones_and_changes_nothing() {
        for (path, refused) in [
            (vec![BookingStatus::Arrived], BookingStatus::NoShow),
            (vec![BookingStatus::Arrived], BookingStatus::Cancelled),
            (
                vec![BookingStatus::Arrived, BookingStatus::Completed],
                BookingStatus::Arrived,
            ),
            (vec![BookingStatus::NoShow], BookingStatus::Arrived),
            (vec![BookingStatus::Cancelled], BookingStatus::Completed),
            (vec![], BookingStatus::Completed),
            (vec![], BookingStatus::Booked),
        ] {
            let mut conn = database();
            let (_, reference) = book_new(&mut conn, SOON);
            // Ten minutes into the visit, when the clock allows every step (a cancellation
            // then sets the cut-off aside, as the desk would).
            let during = now() + Duration::minutes(SOON + 10);
            let overriding = RuleOverride::parse("the patient phoned").expect("a reason");
            for step in &path {
                let overriding = (*step == BookingStatus::Cancelled).then_some(&overriding);
                set_status(
                    &mut conn,
                    &reference,
                    *step,
                    &staff(),
                    &policy(),
                    overriding,
                    during,
                )
                .expect("legal step");
            }
            let before = load(&mut conn, &reference).expect("load");
            let error = set_status(
                &mut conn,
                &reference,
                refused,
                &staff(),
                &policy(),
                (refused == BookingStatus::Cancelled).then_some(&overriding),
                during,
            )
            .expect_err("an illegal step");
            match error {
                ClinicError::InvalidTransition { current, .. } => {
                    assert_eq!(current, before.status(), "{path:?} then {refused:?}")
                }
                other => panic!("{path:?} then {refused:?}: {other:?}"),
            }
            let after = load(&mut conn, &reference).expect("load");
            assert_eq!(after.booking.status, before.booking.status);
            assert_eq!(after.slot.status, before.slot.status);
        }
    }

    #[test]
    fn the_clock_decides_when_a_visit_can_be_checked_in_or_missed() {
        let mut conn = database();
        // Three weeks away: neither arrived nor no-show; cancelling is all that is left.
        let (_, far) = book_new(&mut conn, 60 * 24 * 21);
        for early in [BookingStatus::Arrived, BookingStatus::NoShow] {
            match desk(&mut conn, &far, early, now()) {
                Err(ClinicError::NotNow {
                    current, allowed, ..
                }) => {
                    assert_eq!(current, BookingStatus::Booked);
                    assert_eq!(allowed, vec![BookingStatus::Cancelled]);
                }
                other => panic!("{early:?} three weeks early: {other:?}"),
            }
        }
        assert_eq!(
            load(&mut conn, &far).expect("load").status(),
            BookingStatus::Booked
        );

        // Three hours away: check-in is open, a no-show is not yet.
        let (_, soon) = book_new(&mut conn, SOON);
        assert!(matches!(
            desk(&mut conn, &soon, BookingStatus::NoShow, now()),
            Err(ClinicError::NotNow { .. })
        ));
        let started = now() + Duration::minutes(SOON + 1);
        desk(&mut conn, &soon, BookingStatus::NoShow, started).expect("missed");

        // Thirteen hours after the start the desk can no longer check the patient in.
        let (_, missed) = book_new(&mut conn, SOON);
        let next_day = now() + Duration::minutes(SOON) + Duration::hours(13);
        match desk(&mut conn, &missed, BookingStatus::Arrived, next_day) {
            Err(ClinicError::NotNow { allowed, .. }) => assert_eq!(
                allowed,
                vec![BookingStatus::Cancelled, BookingStatus::NoShow]
            ),
            other => panic!("a late check-in: {other:?}"),
        }
    }

    #[test]
    fn cancelling_frees_the_slot_and_only_staff_cancel_a_started_visit() {
        let mut conn = database();
        let (details, reference) = book_new(&mut conn, IN_TWO_DAYS);
        let patient = Actor::ManageToken(reference.clone());
        let cancelled =
            cancel(&mut conn, &reference, &patient, &policy(), None, now()).expect("cancel");
        assert_eq!(cancelled.status(), BookingStatus::Cancelled);
        assert_eq!(cancelled.slot.status, SlotStatus::Free);
        assert_eq!(cancelled.slot.id, details.slot.id);

        // A visit that started ten minutes ago: the patient is told to call; staff may cancel,
        // past the cut-off, with a reason.
        let (_, started) = book_new(&mut conn, SOON);
        let later = now() + Duration::minutes(SOON + 10);
        let patient = Actor::ManageToken(started.clone());
        assert!(matches!(
            cancel(&mut conn, &started, &patient, &policy(), None, later),
            Err(ClinicError::VisitStarted("cancelled"))
        ));
        match cancel(&mut conn, &started, &staff(), &policy(), None, later) {
            Err(ClinicError::BrokenRule(broken)) => assert_eq!(broken.rule, Rule::CancelCutoff),
            other => panic!("staff without a reason: {other:?}"),
        }
        let overriding = RuleOverride::parse("cancelled at the desk").expect("a reason");
        assert!(cancel(
            &mut conn,
            &started,
            &staff(),
            &policy(),
            Some(&overriding),
            later
        )
        .is_ok());
    }

    #[test]
    fn rescheduling_moves_the_visit_or_changes_nothing() {
        let mut conn = database();
        let (details, reference) = book_new(&mut conn, IN_TWO_DAYS);
        let provider = Some(details.provider.id);
        let free = slot_at(&mut conn, provider, IN_TWO_DAYS + 60);
        let taken = slot_at(&mut conn, provider, IN_TWO_DAYS + 120);
        book(
            &mut conn,
            taken.id,
            &intake(),
            &Actor::Public,
            &policy(),
            None,
            now(),
        )
        .expect("someone else books it");

        let refused = reschedule(
            &mut conn,
            &reference,
            taken.id,
            &Actor::ManageToken(reference.clone()),
            &policy(),
            None,
            now(),
        );
        assert!(matches!(
            refused,
            Err(ClinicError::SlotUnavailable {
                reason: Unavailable::Taken,
                ..
            })
        ));
        let unchanged = load(&mut conn, &reference).expect("load");
        assert_eq!(unchanged.slot.id, details.slot.id);

        let moved = reschedule(
            &mut conn,
            &reference,
            free.id,
            &Actor::ManageToken(reference.clone()),
            &policy(),
            None,
            now(),
        )
        .expect("moved");
        assert_eq!(moved.slot.id, free.id);
        let old = slots::find(&mut conn, details.slot.id)
            .expect("query")
            .expect("slot");
        assert_eq!(old.status, SlotStatus::Free, "the old slot is free again");

        desk(
            &mut conn,
            &reference,
            BookingStatus::NoShow,
            now() + Duration::minutes(IN_TWO_DAYS + 70),
        )
        .expect("no-show, once the visit has started");
        assert!(matches!(
            reschedule(
                &mut conn,
                &reference,
                details.slot.id,
                &staff(),
                &policy(),
                None,
                now()
            ),
            Err(ClinicError::InvalidTransition {
                current: BookingStatus::NoShow,
                wanted: "rescheduled",
                ..
            })
        ));
    }

    #[test]
    fn a_slot_that_started_or_is_blocked_cannot_be_booked() {
        let mut conn = database();
        let past = slot_at(&mut conn, None, -5);
        let public = |conn: &mut DbConnection, slot_id| {
            book(
                conn,
                slot_id,
                &intake(),
                &Actor::Public,
                &policy(),
                None,
                now(),
            )
        };
        assert!(matches!(
            public(&mut conn, past.id),
            Err(ClinicError::SlotUnavailable {
                reason: Unavailable::Started,
                ..
            })
        ));
        let blocked = slot_at(&mut conn, Some(past.provider_id), SOON);
        front_desk::set_slot_status(
            &mut conn,
            blocked.id,
            SlotStatus::Blocked,
            (&staff(), &policy()),
            now(),
        )
        .expect("block");
        assert!(matches!(
            public(&mut conn, blocked.id),
            Err(ClinicError::SlotUnavailable {
                reason: Unavailable::Blocked,
                ..
            })
        ));
        assert!(matches!(
            public(&mut conn, SlotId::new(9_999)),
            Err(ClinicError::NotFound("slot"))
        ));
    }

    #[test]
    fn nothing_fits_names_the_next_days_with_room() {
        let mut conn = database();
        let later = slot_at(&mut conn, None, 60 * 24 * 10);
        let request = EarliestRequest {
            provider_id: Some(later.provider_id),
            location_id: None,
            not_before: None,
        };
        let tz = chrono_tz::America::Phoenix;
        let mut two_days = policy();
        two_days.rules.horizon = Duration::days(2);
        match book_earliest_fitting(
            &mut conn,
            &intake(),
            request,
            tz,
            &Actor::Public,
            &two_days,
            now(),
        ) {
            Err(ClinicError::NothingFits {
                within_days,
                next_dates,
            }) => {
                assert_eq!(within_days, 2);
                let day: DateTime<Utc> = later.starts_at.and_utc();
                assert_eq!(next_dates, vec![day.with_timezone(&tz).date_naive()]);
            }
            other => panic!("expected NothingFits, got {other:?}"),
        }
    }

    #[test]
    fn the_earliest_booking_starts_after_the_notice() {
        let mut conn = database();
        let too_soon = slot_at(&mut conn, None, 30);
        let allowed = slot_at(&mut conn, Some(too_soon.provider_id), SOON);
        let request = EarliestRequest {
            provider_id: Some(too_soon.provider_id),
            location_id: None,
            not_before: None,
        };
        let details = book_earliest_fitting(
            &mut conn,
            &intake(),
            request,
            chrono_tz::America::Phoenix,
            &Actor::Public,
            &policy(),
            now(),
        )
        .expect("the first time the rules allow");
        assert_eq!(details.slot.id, allowed.id);
    }

    #[test]
    fn an_override_is_staff_only_and_recorded_with_the_rules_it_set_aside() {
        let mut conn = database();
        let soon = slot_at(&mut conn, None, 30);
        let overriding = RuleOverride::parse("walk-in").expect("a reason");
        let by = |conn: &mut DbConnection, actor: &Actor| {
            book(
                conn,
                soon.id,
                &intake(),
                actor,
                &policy(),
                Some(&overriding),
                now(),
            )
        };
        assert!(matches!(
            by(&mut conn, &Actor::Public),
            Err(ClinicError::Invalid(_))
        ));
        let details = by(&mut conn, &staff()).expect("booked inside the notice");
        let entries = crate::db::audit::list(
            &mut conn,
            &crate::db::audit::AuditFilter {
                booking_reference: Some(details.booking.reference.clone()),
                ..Default::default()
            },
            10,
        )
        .expect("audit");
        let to: serde_json::Value =
            serde_json::from_str(entries[0].to_state.as_deref().expect("to")).expect("json");
        assert_eq!(
            to["override"],
            json!({"reason": "walk-in", "rules": ["min_notice"]})
        );
    }

    #[test]
    fn an_address_holds_at_most_the_maximum_whatever_its_case() {
        let mut conn = database();
        for _ in 0..3 {
            book_new(&mut conn, IN_TWO_DAYS);
        }
        let mut shouting = intake();
        shouting.patient.email =
            crate::domain::patient::EmailAddress::parse("ANA@Example.COM").expect("an address");
        let slot = slot_at(&mut conn, None, IN_TWO_DAYS);
        let overriding = RuleOverride::parse("a family of four").expect("a reason");
        match book(
            &mut conn,
            slot.id,
            &shouting,
            &staff(),
            &policy(),
            Some(&overriding),
            now(),
        ) {
            Err(ClinicError::BrokenRule(broken)) => assert_eq!(broken.rule, Rule::MaxActive),
            other => panic!("a fourth visit: {other:?}"),
        }
    }

    #[test]
    fn a_mail_job_of_a_kind_this_version_does_not_know_waits_for_one_that_does() {
        let mut conn = database();
        book_new(&mut conn, SOON);
        // A newer copy's kind, written during a rolling deploy (its CHECK is newer too).
        diesel::sql_query("PRAGMA ignore_check_constraints = ON")
            .execute(&mut conn)
            .expect("pragma");
        diesel::sql_query(
            "UPDATE outbox SET kind = 'text_message' WHERE id = (SELECT min(id) FROM outbox)",
        )
        .execute(&mut conn)
        .expect("a job of an unknown kind");
        let later = now() + Duration::hours(2);
        let claimed = crate::db::outbox::claim_due(&mut conn, later, Duration::minutes(1), 10, "t")
            .expect("the other jobs are still claimed");
        assert!(!claimed.is_empty());
        assert!(claimed
            .iter()
            .all(|job| job.kind.as_str() != "text_message"));
    }

    #[test]
    fn an_unknown_stored_status_is_an_error_not_a_default() {
        let mut conn = database();
        let (_, reference) = book_new(&mut conn, SOON);
        // As a newer version's row would read (the column's CHECK is set aside to write it).
        diesel::sql_query("PRAGMA ignore_check_constraints = ON")
            .execute(&mut conn)
            .expect("pragma");
        diesel::sql_query("UPDATE bookings SET status = 'teleported'")
            .execute(&mut conn)
            .expect("write an unknown status");
        match load(&mut conn, &reference) {
            Err(ClinicError::Database(diesel::result::Error::DeserializationError(e))) => {
                assert!(format!("{e:?}").contains("teleported"), "{e:?}")
            }
            other => panic!("expected a deserialization error, got {other:?}"),
        }
    }
}
