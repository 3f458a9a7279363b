//! Offering freed time to the waitlist. Every change that frees time (a cancellation, a move,
//! time off removed, a schedule or slot added, a slot unblocked, a hold let go or run out) calls
//! `offer_freed` inside its own transaction: the offer, the hold that keeps its time for
//! `BookingPolicy::offer`, and its mail commit with the change or not at all. An offer goes to
//! one entry at a time, in the order entries joined, only where the booking rules would let the
//! patient book (the hold is taken under them), never twice to one entry for one time, and never
//! while the patient's address holds a live offer for an overlapping time. Deciding offers is
//! `waitlist`'s, which books through `appointments`; this module stays below both, so the
//! booking operations can call it.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use diesel::Connection;
use serde_json::json;

use super::audit::{self, Entity};
use super::holds::{self, HoldRequest};
use super::rules::{self, BookingPolicy};
use super::{locations, openings, ClinicError};
use crate::db::audit::AuditAction;
use crate::db::bookings;
use crate::db::holds as db_holds;
use crate::db::locations::Location;
use crate::db::outbox::{self, MailKind};
use crate::db::slots::{self, OpenBetween, Slot};
use crate::db::time_off;
use crate::db::visit_types;
use crate::db::waitlist::{self, Entry, NewOffer};
use crate::db::{is_unique_violation, DbConnection};
use crate::domain::actor::Actor;
use crate::domain::booking::{BookingSource, BookingStatus};
use crate::domain::hold::{HoldStatus, HoldToken};
use crate::domain::ids::{LocationId, ProviderId};
use crate::domain::waitlist::OfferStatus;

/// Time that just became free: visits starting from `from` to before `until` of one provider at
/// one location, and when it became free (for the re-booking metric; an offer passed on keeps
/// the time its first offer was made for).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Freed {
    pub provider_id: ProviderId,
    pub location_id: Option<LocationId>,
    pub from: NaiveDateTime,
    pub until: NaiveDateTime,
    pub freed_at: NaiveDateTime,
}

impl Freed {
    /// The time `slot` (and the visit run from it to `until`) takes, freed now.
    pub(crate) fn slot(slot: &Slot, until: NaiveDateTime, now: NaiveDateTime) -> Self {
        Self {
            provider_id: slot.provider_id,
            location_id: slot.location_id,
            from: slot.starts_at,
            until,
            freed_at: now,
        }
    }

    /// The time of `slots` (one provider's, in any order), freed now, one span per location.
    pub(crate) fn spans(slots: &[Slot], now: NaiveDateTime) -> Vec<Self> {
        let mut spans: Vec<Self> = Vec::new();
        for slot in slots {
            match spans
                .iter_mut()
                .find(|s| s.provider_id == slot.provider_id && s.location_id == slot.location_id)
            {
                Some(span) => {
                    span.from = span.from.min(slot.starts_at);
                    span.until = span.until.max(slot.ends_at);
                }
                None => spans.push(Self::slot(slot, slot.ends_at, now)),
            }
        }
        spans
    }
}

/// How many open starts one read looks at, and how many reads one entry gets: an entry whose
/// days and times admit none of the first starts of a long span (a schedule of weeks) is read
/// on through the span, a page at a time, up to this many pages.
const PAGE: usize = 32;
const MAX_PAGES: usize = 40;

/// Offers freed time to the waiting entries that match it, in the order they joined, each in
/// its own savepoint; runs in the transaction of the change that freed it. Answers how many
/// offers it made. With nobody waiting (the usual case) it costs one indexed query.
pub(crate) fn offer_freed(
    conn: &mut DbConnection,
    freed: &Freed,
    actor: &Actor,
    policy: &BookingPolicy,
    now: NaiveDateTime,
) -> Result<usize, ClinicError> {
    if freed.until <= now || !waitlist::any_waiting(conn, now.date())? {
        return Ok(0);
    }
    let location = locations::of_slot(conn, freed.location_id)?;
    let tz = location.timezone.tz();
    let local_date = |t: NaiveDateTime| t.and_utc().with_timezone(&tz).date_naive();
    // A visit may start up to its length before the freed time and run into it; a day either
    // side covers that.
    let dates = (
        local_date(freed.from) - Duration::days(1),
        local_date(freed.until) + Duration::days(1),
    );
    let entries = waitlist::waiting_for(conn, (freed.provider_id, location.id), dates)?;
    let mut offered = 0;
    for entry in entries {
        if waitlist::live_offer_of(conn, entry.id)?.is_some() {
            continue;
        }
        if offer_to(conn, &entry, freed, &location, actor, policy, now)? {
            offered += 1;
        }
    }
    Ok(offered)
}

/// Offers `entry` the first start in the freed time that fits its visit, its dates, days and
/// times of day, and the booking rules, if there is one: false otherwise.
fn offer_to(
    conn: &mut DbConnection,
    entry: &Entry,
    freed: &Freed,
    location: &Location,
    actor: &Actor,
    policy: &BookingPolicy,
    now: NaiveDateTime,
) -> Result<bool, ClinicError> {
    let Some(visit_type) = visit_types::find(conn, entry.visit_type_id)?.filter(|v| v.active)
    else {
        return Ok(false);
    };
    if !visit_types::is_offered_by(conn, visit_type.id, freed.provider_id)? {
        return Ok(false);
    }
    // A visit type for returning patients goes to one who has visited, or whom the front desk
    // put on the list (as staff would book them).
    if !visit_type.new_patients_online
        && entry.source.as_str() != BookingSource::FRONT_DESK
        && !bookings::has_visited(conn, &entry.patient_email)?
    {
        return Ok(false);
    }
    // "Move my booking earlier": only times before the visit booked.
    let before = match entry.move_booking_id {
        Some(id) => match bookings::find_by_id(conn, id)? {
            Some(b) if b.status == BookingStatus::Booked => {
                slots::find(conn, b.slot_id)?.map(|s| s.starts_at)
            }
            _ => return Ok(false),
        },
        None => None,
    };
    let tz = location.timezone.tz();
    // The entry's own dates bound the search: from its first local day's midnight to the end of
    // its last.
    let midnight = |date: NaiveDate| {
        tz.from_local_datetime(&date.and_time(NaiveTime::MIN))
            .earliest()
            .map_or(NaiveDateTime::MIN, |t| t.naive_utc())
    };
    let last_day_ends = entry
        .latest_date
        .succ_opt()
        .map_or(NaiveDateTime::MAX, midnight);
    let length = Duration::minutes(i64::from(visit_type.duration_minutes));
    let mut from = (freed.from - length)
        .max(now)
        .max(midnight(entry.earliest_date));
    let until = freed
        .until
        .min(before.unwrap_or(NaiveDateTime::MAX))
        .min(last_day_ends);
    let place = locations::place(conn, location.id)?;
    let preferences = entry.preferences();
    // The rules must still let the patient book when the offer runs out: a start inside the
    // notice by then is not offered.
    let decided_by = now + policy.offer;
    for _ in 0..MAX_PAGES {
        if from >= until {
            break;
        }
        let between = OpenBetween { from, until, now };
        let open = openings::open_times(
            conn,
            Some(&visit_type),
            Some(freed.provider_id),
            Some(place),
            between,
            PAGE,
        )?;
        let read = open.len();
        let Some(next) = open
            .last()
            .map(|(slot, _)| slot.starts_at + Duration::seconds(1))
        else {
            break;
        };
        for (slot, _) in open {
            let local = slot.starts_at.and_utc().with_timezone(&tz).naive_local();
            let ends_at = slot.starts_at + length;
            if !preferences.admits(local)
                || rules::check_hold(policy, (&slot, Some(&visit_type)), decided_by).is_err()
                || waitlist::was_offered(conn, entry.id, (slot.starts_at, ends_at))?
                || time_off::overlaps(conn, freed.provider_id, (slot.starts_at, ends_at))?
                || waitlist::has_live_overlapping(
                    conn,
                    &entry.patient_email,
                    (slot.starts_at, ends_at),
                    now,
                )?
            {
                continue;
            }
            let made =
                conn.transaction(|conn| make_offer(conn, entry, &slot, freed, actor, policy, now));
            match made {
                Ok(()) => return Ok(true),
                // Taken meanwhile, or the run no longer fits: the next start.
                Err(ClinicError::SlotUnavailable { .. } | ClinicError::BrokenRule(_)) => continue,
                // Another transaction offered this entry something meanwhile (PostgreSQL: the
                // one-live-offer index, once it committed): the entry is served.
                Err(ClinicError::Database(e)) if is_unique_violation(&e) => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        if read < PAGE {
            break;
        }
        from = next;
    }
    Ok(false)
}

/// Holds the visit from `slot` for the entry and writes the offer, its mail and its audit entry.
fn make_offer(
    conn: &mut DbConnection,
    entry: &Entry,
    slot: &Slot,
    freed: &Freed,
    actor: &Actor,
    policy: &BookingPolicy,
    now: NaiveDateTime,
) -> Result<(), ClinicError> {
    let request = HoldRequest {
        slot_id: slot.id,
        visit_type_id: Some(entry.visit_type_id),
        replaces: None,
        client_key: None,
    };
    // The hold's token is never used: the offer names its hold, and taking the offer books
    // through it (`HoldClaim::Offer`).
    let (_, held) = holds::take(conn, &request, policy, policy.offer, now)?;
    let offer = NewOffer {
        entry_id: entry.id,
        hold_id: held.hold.id,
        slot_id: slot.id,
        provider_id: slot.provider_id,
        starts_at: held.hold.starts_at,
        ends_at: held.hold.ends_at,
        status: OfferStatus::Offered,
        freed_at: freed.freed_at,
        created_at: now,
        expires_at: held.hold.expires_at,
    }
    .insert(conn)?;
    outbox::enqueue_waitlist(
        conn,
        MailKind::WaitlistOffer,
        (entry.id, Some(offer.id)),
        None,
        now,
    )?;
    audit::record(
        conn,
        actor,
        AuditAction::WaitlistOffer,
        Entity::WaitlistEntry(&entry.reference),
        None,
        Some(json!({
            "status": OfferStatus::Offered.as_str(),
            "slot_id": offer.slot_id,
            "provider_id": offer.provider_id,
            "start": offer.starts_at.and_utc().to_rfc3339(),
            "expires_at": offer.expires_at.and_utc().to_rfc3339(),
        })),
        now,
    )?;
    Ok(())
}

/// Lets the hold `token` names go at once (the patient left the page), and offers its time to
/// the waitlist. Releasing a hold that has ended already changes nothing; 404 for none.
pub(crate) fn release_hold(
    conn: &mut DbConnection,
    token: &HoldToken,
    policy: &BookingPolicy,
    now: NaiveDateTime,
) -> Result<(), ClinicError> {
    let hold =
        db_holds::find_by_digest(conn, &token.digest())?.ok_or(ClinicError::NotFound("hold"))?;
    if hold.status(now) != HoldStatus::Active {
        return Ok(());
    }
    db_holds::release(conn, hold.id, now)?;
    let first = slots::find(conn, hold.slot_id)?.ok_or(ClinicError::NotFound("slot"))?;
    offer_freed(
        conn,
        &Freed::slot(&first, hold.ends_at, now),
        &Actor::Public,
        policy,
        now,
    )?;
    Ok(())
}
