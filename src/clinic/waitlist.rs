//! The waitlist: patients who want an earlier time than the open ones ask for one (a visit type,
//! a provider or any, a location or any, dates, days and parts of the day), and whenever time
//! becomes free it is offered to the matching entries in the order they joined.
//!
//! - **Entries** made on the website count once the patient opens the verification link sent to
//!   their address; staff (and a patient moving their own booking, proven by its manage token)
//!   make entries that count at once.
//! - **Offers** are made by `offer_freed`, which every change that frees time calls inside its
//!   own transaction (a cancellation, a move, time off removed, a schedule added, a hold let go
//!   or run out): the offer, the hold that keeps its time for `BookingPolicy::offer`, and its
//!   mail commit with the change or not at all. An offer goes to one entry at a time, only where
//!   the booking rules would let the patient book (a hold is taken under them), never twice to
//!   one entry for one time, and never while the patient's address holds a live offer for an
//!   overlapping time.
//! - **Deciding**: accepting books the time through the booking operation itself (the offer's
//!   hold lets its claim through; every booking rule applies), and, for "move my booking
//!   earlier", cancels the old visit with its mails; declining, or the offer running out
//!   (`sweep`), passes the time to the next entry. Each step is a conditional update on the
//!   offer's status, so of two accepts (or an accept and the expiry) exactly one wins.

use chrono::NaiveDateTime;
use serde_json::json;

use super::appointments::{self, BookingDetails, HoldClaim, Intake};
use super::audit::{self, Entity};
use super::offers::{offer_freed, Freed};
use super::rules::BookingPolicy;
use super::{locations, openings, ClinicError};
use crate::db::audit::AuditAction;
use crate::db::bookings;
use crate::db::holds as db_holds;
use crate::db::locations::Location;
use crate::db::outbox::{self, MailKind};
use crate::db::providers::{self, Provider};
use crate::db::slots;
use crate::db::visit_types::{self, VisitType};
use crate::db::waitlist::{self, Entry, NewEntry, Offer};
use crate::db::{write_transaction, DbConnection};
use crate::domain::actor::Actor;
use crate::domain::booking::{BookingReference, BookingSource, BookingStatus};
use crate::domain::ids::{
    BookingId, LocationId, ProviderId, VisitTypeId, WaitlistEntryId, WaitlistOfferId,
};
use crate::domain::patient::{Patient, PatientInput};
use crate::domain::rules::RuleOverride;
use crate::domain::waitlist::{EntryStatus, OfferStatus, Preferences, WaitlistReference};
use crate::domain::FieldErrors;

/// The source of a booking made by taking a waitlist offer.
pub const WAITLIST_SOURCE: &str = "waitlist";

/// What a new entry asks for.
#[derive(Debug, Clone)]
pub(crate) struct JoinRequest {
    pub patient: Patient,
    pub visit_type_id: VisitTypeId,
    pub provider_id: Option<ProviderId>,
    pub location_id: Option<LocationId>,
    pub preferences: Preferences,
    /// "Move my booking earlier": the booking, whose manage token the caller proved.
    pub move_booking: Option<BookingReference>,
}

/// An entry with what its answer shows.
#[derive(Debug, Clone)]
pub(crate) struct EntryDetails {
    pub entry: Entry,
    pub visit_type: VisitType,
    /// The entry's live offer, if it has one.
    pub offer: Option<Offer>,
    /// The booking an accepted offer would move earlier, by reference.
    pub move_booking: Option<String>,
}

/// Puts a patient on the list: 404 for an unknown visit type, provider or location, 422 for a
/// visit type the provider does not offer or a booking to move that is not the patient's or not
/// booked. An entry made by staff, or by a patient moving their own booking (the manage token
/// proves the address), counts at once and gets the "you are on the list" mail; one made on the
/// website gets the verification link instead.
pub(crate) fn join(
    conn: &mut DbConnection,
    request: &JoinRequest,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<EntryDetails, ClinicError> {
    let visit_type = openings::active_visit_type(conn, request.visit_type_id)?;
    // As for booking it online: a visit type for returning patients, for one who has visited.
    if !visit_type.new_patients_online
        && !actor.acts_for_clinic()
        && !bookings::has_visited(conn, request.patient.email.as_str())?
    {
        return Err(ClinicError::ReturningPatientsOnly(visit_type.name));
    }
    if let Some(id) = request.provider_id {
        let provider = providers::find(conn, id)?
            .filter(|p| p.active)
            .ok_or(ClinicError::NotFound("provider"))?;
        if !visit_types::is_offered_by(conn, visit_type.id, id)? {
            return Err(ClinicError::invalid(
                "provider_id",
                format!("{} does not offer {}", provider.name, visit_type.name),
            ));
        }
    }
    if let Some(id) = request.location_id {
        locations::place(conn, id)?;
    }
    let move_booking = match &request.move_booking {
        Some(reference) => Some(booking_to_move(conn, reference, &request.patient, now)?),
        None => None,
    };
    let counts_now = actor.is_staff() || move_booking.is_some();
    let reference = WaitlistReference::generate();
    let patient = &request.patient;
    let source = BookingSource::named(if actor.is_staff() {
        BookingSource::FRONT_DESK
    } else {
        BookingSource::WEBSITE
    });
    let entry = NewEntry {
        reference: reference.as_str(),
        status: if counts_now {
            EntryStatus::Waiting
        } else {
            EntryStatus::Unverified
        },
        visit_type_id: visit_type.id,
        provider_id: request.provider_id,
        location_id: request.location_id,
        earliest_date: request.preferences.earliest(),
        latest_date: request.preferences.latest(),
        weekdays: request.preferences.weekdays_stored(),
        day_parts: request.preferences.day_parts_stored(),
        move_booking_id: move_booking.as_ref().map(|(id, _)| *id),
        patient_name: patient.name.as_str(),
        patient_email: patient.email.as_str(),
        patient_phone: patient.phone.as_ref().map(|p| p.as_str()),
        source: &source,
        created_at: now,
        language: patient.language,
        verified_at: counts_now.then_some(now),
    }
    .insert(conn)?;
    let mail = if counts_now {
        MailKind::WaitlistJoined
    } else {
        MailKind::WaitlistVerify
    };
    outbox::enqueue_waitlist(conn, mail, (entry.id, None), None, now)?;
    audit::record(
        conn,
        actor,
        AuditAction::WaitlistJoin,
        Entity::WaitlistEntry(&entry.reference),
        None,
        Some(json!({
            "status": entry.status.as_str(),
            "visit_type_id": entry.visit_type_id,
            "provider_id": entry.provider_id,
            "location_id": entry.location_id,
            "earliest_date": entry.earliest_date.to_string(),
            "latest_date": entry.latest_date.to_string(),
            "move_booking": move_booking.as_ref().map(|(_, r)| r.as_str()),
        })),
        now,
    )?;
    Ok(EntryDetails {
        entry,
        visit_type,
        offer: None,
        move_booking: move_booking.map(|(_, r)| r),
    })
}

/// The booking a "move it earlier" entry names: booked, ahead, and the patient's own.
fn booking_to_move(
    conn: &mut DbConnection,
    reference: &BookingReference,
    patient: &Patient,
    now: NaiveDateTime,
) -> Result<(BookingId, String), ClinicError> {
    let details = appointments::load(conn, reference)?;
    if details.status() != BookingStatus::Booked || details.slot.starts_at <= now {
        return Err(ClinicError::invalid(
            "move_booking",
            "only a booked visit that has not started can be moved earlier",
        ));
    }
    if !details
        .booking
        .patient_email
        .eq_ignore_ascii_case(patient.email.as_str())
    {
        return Err(ClinicError::invalid(
            "patient.email",
            "must be the address of the booking to move",
        ));
    }
    Ok((details.booking.id, details.booking.reference))
}

/// The entry with what its answer shows.
fn details(conn: &mut DbConnection, entry: Entry) -> Result<EntryDetails, ClinicError> {
    let visit_type =
        visit_types::find(conn, entry.visit_type_id)?.ok_or(ClinicError::NotFound("visit type"))?;
    let offer = waitlist::live_offer_of(conn, entry.id)?;
    let move_booking = match entry.move_booking_id {
        Some(id) => bookings::find_by_id(conn, id)?.map(|b| b.reference),
        None => None,
    };
    Ok(EntryDetails {
        entry,
        visit_type,
        offer,
        move_booking,
    })
}

/// The entry named `reference`, with what its answer shows; 404 for none.
pub(crate) fn load(
    conn: &mut DbConnection,
    reference: &WaitlistReference,
) -> Result<EntryDetails, ClinicError> {
    let entry = find_by_reference(conn, reference)?;
    details(conn, entry)
}

/// Opens the verification link: the entry counts from now on, and the patient gets the "you are
/// on the list" mail. Opening it again changes nothing (the entry as it stands is the answer).
pub(crate) fn verify(
    conn: &mut DbConnection,
    reference: &WaitlistReference,
    now: NaiveDateTime,
) -> Result<EntryDetails, ClinicError> {
    let entry = find_by_reference(conn, reference)?;
    let changed = (EntryStatus::Unverified, EntryStatus::Waiting);
    if entry.status != EntryStatus::Unverified
        || !waitlist::set_entry_status(conn, entry.id, changed, None, now)?
    {
        return details(conn, entry);
    }
    outbox::enqueue_waitlist(conn, MailKind::WaitlistJoined, (entry.id, None), None, now)?;
    audit::record(
        conn,
        &Actor::Public,
        AuditAction::WaitlistVerify,
        Entity::WaitlistEntry(&entry.reference),
        Some(json!({"status": EntryStatus::Unverified.as_str()})),
        Some(json!({"status": EntryStatus::Waiting.as_str()})),
        now,
    )?;
    let entry = waitlist::find_entry(conn, entry.id)?.ok_or(ClinicError::NotFound("entry"))?;
    details(conn, entry)
}

/// Takes an entry off the list (the patient with its token, or staff). A live offer it holds is
/// declined, and its time goes to the next entry. An entry already off the list is a 409.
pub(crate) fn remove(
    conn: &mut DbConnection,
    entry: &Entry,
    actor: &Actor,
    policy: &BookingPolicy,
    now: NaiveDateTime,
) -> Result<(), ClinicError> {
    let from = entry.status;
    if !matches!(from, EntryStatus::Waiting | EntryStatus::Unverified) {
        return Err(ClinicError::ChangedMeanwhile("waitlist entry"));
    }
    // The offer first, as every path that ends one (see `end_offer`); its time is passed on
    // once the entry is off the list, so that it cannot come back to it.
    let live = waitlist::live_offer_of(conn, entry.id)?;
    let ended = match &live {
        Some(offer) => end_offer(conn, offer, OfferStatus::Declined, now)?,
        None => false,
    };
    if !waitlist::set_entry_status(conn, entry.id, (from, EntryStatus::Removed), None, now)? {
        return Err(ClinicError::ChangedMeanwhile("waitlist entry"));
    }
    if let (Some(offer), true) = (&live, ended) {
        pass_on(conn, offer, OfferStatus::Declined, actor, policy, now)?;
    }
    audit::record(
        conn,
        actor,
        AuditAction::WaitlistRemove,
        Entity::WaitlistEntry(&entry.reference),
        Some(json!({"status": from.as_str()})),
        Some(json!({"status": EntryStatus::Removed.as_str()})),
        now,
    )?;
    Ok(())
}

/// Staff's view: the entries on the list for one provider (or any) on one date (or any).
pub(crate) fn listed(
    conn: &mut DbConnection,
    provider: Option<ProviderId>,
    date: Option<chrono::NaiveDate>,
) -> Result<Vec<EntryDetails>, ClinicError> {
    const MAX_LISTED: i64 = 500;
    let entries = waitlist::listed(conn, provider, date, MAX_LISTED)?;
    entries.into_iter().map(|e| details(conn, e)).collect()
}

/// The entry staff name by reference; 404 for none.
pub(crate) fn find_by_reference(
    conn: &mut DbConnection,
    reference: &WaitlistReference,
) -> Result<Entry, ClinicError> {
    waitlist::find_entry_by_reference(conn, reference.as_str())?
        .ok_or(ClinicError::NotFound("waitlist entry"))
}

/// An offer with its entry, as the offer page shows it.
#[derive(Debug, Clone)]
pub(crate) struct OfferDetails {
    pub offer: Offer,
    pub entry: Entry,
}

/// The offer `id`; 404 for none.
pub(crate) fn load_offer(
    conn: &mut DbConnection,
    id: WaitlistOfferId,
) -> Result<OfferDetails, ClinicError> {
    let offer = waitlist::find_offer(conn, id)?.ok_or(ClinicError::NotFound("offer"))?;
    let entry =
        waitlist::find_entry(conn, offer.entry_id)?.ok_or(ClinicError::NotFound("offer"))?;
    Ok(OfferDetails { offer, entry })
}

/// Why offer `id` can no longer be decided: where it stands now, read again (a request that
/// lost a race read it before the winner decided it; an offer past its expiry that the sweeper
/// has not reached yet stands `expired` here too).
fn gone(conn: &mut DbConnection, id: WaitlistOfferId, now: NaiveDateTime) -> ClinicError {
    let offer = match waitlist::find_offer(conn, id) {
        Ok(Some(offer)) => offer,
        Ok(None) => return ClinicError::NotFound("offer"),
        Err(e) => return e.into(),
    };
    let status = match offer.status {
        OfferStatus::Offered if offer.expires_at <= now => OfferStatus::Expired,
        status => status,
    };
    ClinicError::OfferGone(status)
}

/// Takes the offer `id`: books its time for the entry's patient through the booking
/// operation (the offer's hold lets the claim through; the booking rules apply as to any
/// booking), cancels the booking an entry to move earlier names, and takes the entry off the
/// list. Answers the booking and when the time had become free. A second accept, or one after
/// the offer expired or was declined, is `OfferGone`, and books nothing.
pub(crate) fn accept(
    conn: &mut DbConnection,
    id: WaitlistOfferId,
    policy: &BookingPolicy,
    now: NaiveDateTime,
) -> Result<(BookingDetails, NaiveDateTime), ClinicError> {
    let OfferDetails { offer, entry } = load_offer(conn, id)?;
    if entry.status != EntryStatus::Waiting || !end_offer(conn, &offer, OfferStatus::Accepted, now)?
    {
        return Err(gone(conn, offer.id, now));
    }
    // Moving a booking earlier: the old visit goes first, in this transaction (its place in
    // the address's count too), with its mail. The clinic offered the move, so the cut-off
    // does not stand in its way; the server sets it aside, and the audit log says why.
    if let Some(id) = entry.move_booking_id {
        let old = bookings::find_by_id(conn, id)?.ok_or(ClinicError::NotFound("booking"))?;
        let reference = BookingReference::parse(&old.reference)
            .ok_or_else(|| anyhow::anyhow!("stored booking reference is malformed"))?;
        if old.status == BookingStatus::Booked {
            let reason = RuleOverride::parse("the patient took an earlier time from the waitlist")
                .map_err(|e| anyhow::anyhow!(e))?;
            appointments::cancel_because(
                conn,
                &reference,
                &Actor::System,
                policy,
                Some(&reason),
                Some("You took an earlier time from the waitlist."),
                now,
            )?;
        }
    }
    let mut errors = FieldErrors::default();
    let patient = Patient::parse(
        PatientInput {
            name: &entry.patient_name,
            email: &entry.patient_email,
            phone: entry.patient_phone.as_deref(),
            date_of_birth: None,
            sms_consent: false,
            language: entry.language,
        },
        now.date(),
        &mut errors,
    )
    .ok_or_else(|| anyhow::anyhow!("a waitlist entry's stored patient does not parse"))?;
    let intake = Intake {
        patient,
        reason: None,
        source: BookingSource::named(WAITLIST_SOURCE),
        concern: None,
        visit_type_id: Some(entry.visit_type_id),
        series_id: None,
        hold: Some(HoldClaim::Offer(offer.hold_id)),
    };
    // The patient takes it; an entry the front desk made books as the desk would (a visit
    // type for returning patients, say).
    let actor = if entry.source.as_str() == BookingSource::FRONT_DESK {
        Actor::System
    } else {
        Actor::Public
    };
    let booked = appointments::book(conn, offer.slot_id, &intake, &actor, policy, None, now)?;
    waitlist::set_offer_booking(conn, offer.id, booked.booking.id)?;
    let ended = (EntryStatus::Waiting, EntryStatus::Booked);
    if !waitlist::set_entry_status(conn, entry.id, ended, Some(booked.booking.id), now)? {
        return Err(ClinicError::ChangedMeanwhile("waitlist entry"));
    }
    audit::record(
        conn,
        &actor,
        AuditAction::WaitlistAccept,
        Entity::WaitlistEntry(&entry.reference),
        Some(json!({"status": OfferStatus::Offered.as_str()})),
        Some(json!({
            "status": OfferStatus::Accepted.as_str(),
            "booking": booked.booking.reference,
        })),
        now,
    )?;
    Ok((booked, offer.freed_at))
}

/// Declines the offer `id`: its time goes to the next entry at once; the entry stays
/// on the list.
pub(crate) fn decline(
    conn: &mut DbConnection,
    id: WaitlistOfferId,
    policy: &BookingPolicy,
    now: NaiveDateTime,
) -> Result<(), ClinicError> {
    let OfferDetails { offer, .. } = load_offer(conn, id)?;
    if offer.expires_at <= now || !end_offer(conn, &offer, OfferStatus::Declined, now)? {
        return Err(gone(conn, offer.id, now));
    }
    pass_on(
        conn,
        &offer,
        OfferStatus::Declined,
        &Actor::Public,
        policy,
        now,
    )
}

/// Ends a live offer as `to`: the conditional update on its status (an accept only before it
/// expires). Every path that ends an offer (accept, decline, removal, the sweep) takes this
/// step first, so on PostgreSQL they lock the offer's row before its hold, slots and entry,
/// always in that order, and never deadlock one another. False when it was decided meanwhile.
fn end_offer(
    conn: &mut DbConnection,
    offer: &Offer,
    to: OfferStatus,
    now: NaiveDateTime,
) -> Result<bool, ClinicError> {
    Ok(waitlist::decide(conn, offer.id, to, None, now)?)
}

/// After `end_offer` as declined or expired: lets the hold go, records it, mails the patient if
/// it expired (and they had the offer mail), and offers the time to the next entry.
fn pass_on(
    conn: &mut DbConnection,
    offer: &Offer,
    to: OfferStatus,
    actor: &Actor,
    policy: &BookingPolicy,
    now: NaiveDateTime,
) -> Result<(), ClinicError> {
    db_holds::release(conn, offer.hold_id, now)?;
    let entry =
        waitlist::find_entry(conn, offer.entry_id)?.ok_or(ClinicError::NotFound("entry"))?;
    // An offer whose mail never went out (the mail server was down through its minutes) ran
    // out unseen: no "expired" mail about it either.
    if to == OfferStatus::Expired && outbox::was_sent(conn, MailKind::WaitlistOffer, offer.id)? {
        outbox::enqueue_waitlist(
            conn,
            MailKind::WaitlistExpired,
            (entry.id, Some(offer.id)),
            None,
            now,
        )?;
    }
    let action = match to {
        OfferStatus::Expired => AuditAction::WaitlistExpire,
        _ => AuditAction::WaitlistDecline,
    };
    audit::record(
        conn,
        actor,
        action,
        Entity::WaitlistEntry(&entry.reference),
        Some(json!({"status": OfferStatus::Offered.as_str(), "slot_id": offer.slot_id})),
        Some(json!({"status": to.as_str()})),
        now,
    )?;
    let first = slots::find(conn, offer.slot_id)?.ok_or(ClinicError::NotFound("slot"))?;
    let freed = Freed {
        freed_at: offer.freed_at,
        ..Freed::slot(&first, offer.ends_at, now)
    };
    offer_freed(conn, &freed, actor, policy, now)?;
    Ok(())
}

/// How many expired holds one sweep passes on at most; the next sweep takes the rest.
const SWEEP_BATCH: i64 = 200;

/// Passes on the time of holds that ran out: an offer's hold ends its offer (expired, mailed,
/// and its time offered to the next entry); a patient's hold that expired frees time like a
/// cancellation. Each hold in its own write transaction, claimed by a conditional update (an
/// offer's by ending the offer, first, as `end_offer` says), so copies of the app sweeping at
/// once pass each on exactly once. With nobody waiting, holds without offers are marked swept in
/// one statement. A hold that fails does not stop the others: answers how many holds it swept,
/// and the first error met.
pub(crate) fn sweep(
    conn: &mut DbConnection,
    policy: &BookingPolicy,
    now: NaiveDateTime,
) -> Result<(usize, Option<ClinicError>), ClinicError> {
    // Most ticks find nothing that ran out: they read, and write nothing (on SQLite, they leave
    // the write lock alone).
    if waitlist::expired_unswept_holds(conn, now, 1)?.is_empty() {
        return Ok((0, None));
    }
    let mut swept = 0;
    if !waitlist::any_waiting(conn, now.date())? {
        swept += write_transaction(conn, |conn| waitlist::mark_swept_without_offers(conn, now))?;
    }
    let mut failed = None;
    for hold in waitlist::expired_unswept_holds(conn, now, SWEEP_BATCH)? {
        let passed = write_transaction(conn, |conn| {
            match waitlist::offer_of_hold(conn, hold.id)? {
                Some(offer) if offer.status == OfferStatus::Offered => {
                    if !end_offer(conn, &offer, OfferStatus::Expired, now)? {
                        return Ok::<_, ClinicError>(false);
                    }
                    pass_on(
                        conn,
                        &offer,
                        OfferStatus::Expired,
                        &Actor::System,
                        policy,
                        now,
                    )?;
                    waitlist::mark_swept(conn, hold.id, now)?;
                }
                Some(_) => {
                    waitlist::mark_swept(conn, hold.id, now)?;
                }
                None => {
                    if !waitlist::mark_swept(conn, hold.id, now)? {
                        return Ok(false);
                    }
                    let first =
                        slots::find(conn, hold.slot_id)?.ok_or(ClinicError::NotFound("slot"))?;
                    let freed = Freed {
                        freed_at: hold.expires_at,
                        ..Freed::slot(&first, hold.ends_at, now)
                    };
                    offer_freed(conn, &freed, &Actor::System, policy, now)?;
                }
            }
            Ok(true)
        });
        match passed {
            Ok(passed) => swept += usize::from(passed),
            Err(e) => {
                failed.get_or_insert(e);
            }
        }
    }
    Ok((swept, failed))
}

/// What a waitlist mail shows: the entry, what it asks for, and the offer it is about.
#[derive(Debug, Clone)]
pub struct WaitlistMail {
    pub entry: Entry,
    pub visit_type: VisitType,
    /// The provider and location the entry asks for; `None` for any.
    pub provider: Option<Provider>,
    pub location: Option<Location>,
    /// The booking an accepted offer moves earlier, by reference.
    pub move_booking: Option<String>,
    pub offer: Option<OfferMail>,
}

/// An offer with where and with whom its time is.
#[derive(Debug, Clone)]
pub struct OfferMail {
    pub offer: Offer,
    pub provider: Provider,
    pub location: Location,
}

/// Loads what the mail about `entry` (and `offer`) shows.
pub fn mail_details(
    conn: &mut DbConnection,
    entry: WaitlistEntryId,
    offer: Option<WaitlistOfferId>,
) -> Result<WaitlistMail, ClinicError> {
    let entry = waitlist::find_entry(conn, entry)?.ok_or(ClinicError::NotFound("entry"))?;
    let EntryDetails {
        entry,
        visit_type,
        move_booking,
        ..
    } = details(conn, entry)?;
    let provider = match entry.provider_id {
        Some(id) => providers::find(conn, id)?,
        None => None,
    };
    let location = match entry.location_id {
        Some(id) => crate::db::locations::find(conn, id)?,
        None => None,
    };
    let offer = match offer {
        Some(id) => {
            let offer = waitlist::find_offer(conn, id)?.ok_or(ClinicError::NotFound("offer"))?;
            let (first, provider) = slots::find_with_provider(conn, offer.slot_id)?
                .ok_or(ClinicError::NotFound("slot"))?;
            let location = locations::of_slot(conn, first.location_id)?;
            Some(OfferMail {
                offer,
                provider,
                location,
            })
        }
        None => None,
    };
    Ok(WaitlistMail {
        entry,
        visit_type,
        provider,
        location,
        move_booking,
        offer,
    })
}
