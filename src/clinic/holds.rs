//! Holds: the time a patient picked is kept for them for a few minutes (`booking.hold_minutes`)
//! while they fill in the form, so that a second patient cannot take it from under them. A hold
//! keeps the same run of slots the visit would (`openings::visit_run`), through conditional
//! writes like a booking's claim, so one time has at most one live hold; the time is not
//! offered to anyone else meanwhile; and it needs nothing to end: a slot whose hold has expired
//! is open again by the condition every read and claim carries. Booking with the hold's token
//! claims the held slots under the same booking rules as any booking.

use chrono::{Duration, NaiveDateTime};

use super::locations;
use super::rules::{self, BookingPolicy};
use super::{openings, slot_unavailable, ClinicError, Unavailable};
use crate::db::holds::{self, Hold, NewHold};
use crate::db::locations::Location;
use crate::db::providers::Provider;
use crate::db::slots::{self, Slot};
use crate::db::visit_types::{self, VisitType};
use crate::db::DbConnection;
use crate::domain::hold::{HoldStatus, HoldToken};
use crate::domain::ids::{HoldId, SlotId, VisitTypeId};

/// The time to keep: a start (its first slot) and, optionally, the kind of visit; the hold this
/// one replaces (the patient chose another time), and who asks.
#[derive(Debug, Clone)]
pub(crate) struct HoldRequest {
    pub slot_id: SlotId,
    pub visit_type_id: Option<VisitTypeId>,
    pub replaces: Option<HoldToken>,
    /// A keyed hash of the client's address (`ClientAddress`), never the address itself.
    pub client_key: Option<String>,
}

/// How many times one client (one address) may keep at once: a patient keeps one (a page lets
/// the previous go as it takes the next), a family booking together a few. Without a cap a few
/// addresses could keep every time the clinic offers out of sight.
pub(crate) const MAX_LIVE_PER_CLIENT: i64 = 4;

/// A hold with what its answer shows: the time it keeps, with whom, where.
#[derive(Debug, Clone)]
pub(crate) struct HoldDetails {
    pub hold: Hold,
    /// The visit's first slot, as read when the hold was taken or read.
    pub first: Slot,
    pub provider: Provider,
    pub location: Location,
    pub visit_type: Option<VisitType>,
}

/// Keeps the time `request` names for `keep_for`: 404 for an unknown slot or visit type, 422
/// for a visit type the provider does not offer or a time the booking rules do not let patients
/// book, 409 when the time (or any slot the visit needs) is taken, blocked or held already.
pub(crate) fn take(
    conn: &mut DbConnection,
    request: &HoldRequest,
    policy: &BookingPolicy,
    keep_for: Duration,
    now: NaiveDateTime,
) -> Result<(HoldToken, HoldDetails), ClinicError> {
    let (first, provider) =
        slots::find_with_provider(conn, request.slot_id)?.ok_or(ClinicError::NotFound("slot"))?;
    let visit_type = match request.visit_type_id {
        Some(id) => {
            let visit_type = openings::active_visit_type(conn, id)?;
            if !visit_types::is_offered_by(conn, id, provider.id)? {
                return Err(ClinicError::invalid(
                    "visit_type_id",
                    format!("{} does not offer {}", provider.name, visit_type.name),
                ));
            }
            Some(visit_type)
        }
        None => None,
    };
    rules::check_hold(policy, (&first, visit_type.as_ref()), now)?;
    if !provider.active {
        return Err(slot_unavailable(&first, provider.active, now));
    }
    // The time the patient held before is theirs to let go as they take this one (it may be
    // part of this very run).
    if let Some(previous) = &request.replaces {
        let_go(conn, previous, now)?;
    }
    if let Some(client) = &request.client_key {
        let live = holds::live_for_client(conn, client, now)?;
        if live >= MAX_LIVE_PER_CLIENT {
            return Err(ClinicError::TooManyHolds(live));
        }
    }
    let (run, visit_end) = openings::visit_run(conn, &first, visit_type.as_ref())?;
    let token = HoldToken::generate();
    let digest = token.digest();
    let hold = NewHold {
        token_hash: &digest,
        slot_id: first.id,
        provider_id: provider.id,
        visit_type_id: request.visit_type_id,
        starts_at: first.starts_at,
        ends_at: visit_end,
        expires_at: now + keep_for,
        created_at: now,
        client_key: request.client_key.as_deref(),
    }
    .insert(conn)?;
    // In order of start, like a booking's claim: two holds (or a hold and a booking) that want
    // overlapping runs meet at their first shared slot.
    for (i, slot) in run.iter().enumerate() {
        if !slots::keep(conn, slot.id, hold.id, hold.expires_at, now)? {
            return Err(refusal(conn, &first, slot, i, now)?);
        }
    }
    let location = locations::of_slot(conn, first.location_id)?;
    Ok((
        token,
        HoldDetails {
            hold,
            first,
            provider,
            location,
            visit_type,
        },
    ))
}

/// Why the `i`th slot of the run could not be kept: as a booking of it would be refused (taken,
/// blocked, started, held by someone), or, for a later slot, the visit does not fit.
fn refusal(
    conn: &mut DbConnection,
    first: &Slot,
    slot: &Slot,
    i: usize,
    now: NaiveDateTime,
) -> Result<ClinicError, ClinicError> {
    let current = slots::find(conn, slot.id)?.ok_or(ClinicError::NotFound("slot"))?;
    Ok(match slot_unavailable(&current, true, now) {
        ClinicError::SlotUnavailable {
            reason: Unavailable::Held,
            ..
        } => ClinicError::SlotUnavailable {
            slot_id: first.id,
            reason: Unavailable::Held,
        },
        refused if i == 0 => refused,
        _ => ClinicError::SlotUnavailable {
            slot_id: first.id,
            reason: Unavailable::DoesNotFit,
        },
    })
}

/// The hold `token` names, with what its answer shows; 404 for none.
pub(crate) fn load(conn: &mut DbConnection, token: &HoldToken) -> Result<HoldDetails, ClinicError> {
    let hold =
        holds::find_by_digest(conn, &token.digest())?.ok_or(ClinicError::NotFound("hold"))?;
    let (first, provider) =
        slots::find_with_provider(conn, hold.slot_id)?.ok_or(ClinicError::NotFound("hold"))?;
    let visit_type = match hold.visit_type_id {
        Some(id) => visit_types::find(conn, id)?,
        None => None,
    };
    let location = locations::of_slot(conn, first.location_id)?;
    Ok(HoldDetails {
        hold,
        first,
        provider,
        location,
        visit_type,
    })
}

/// Lets the hold `token` names go if it is still active; false when it names none.
fn let_go(
    conn: &mut DbConnection,
    token: &HoldToken,
    now: NaiveDateTime,
) -> Result<bool, ClinicError> {
    let Some(hold) = holds::find_by_digest(conn, &token.digest())? else {
        return Ok(false);
    };
    if hold.status(now) == HoldStatus::Active {
        holds::release(conn, hold.id, now)?;
    }
    Ok(true)
}

/// The hold a booking of `slot_id` (as `visit_type_id`) names with `token`, if it still keeps
/// that time: the claim then lets it through. A hold for another time, or one already booked,
/// is refused; one that expired or was let go keeps nothing, and the booking goes on as one
/// without it (the time may well still be open).
pub(crate) fn for_booking(
    conn: &mut DbConnection,
    token: &HoldToken,
    (slot_id, visit_type_id): (SlotId, Option<VisitTypeId>),
    now: NaiveDateTime,
) -> Result<Option<HoldId>, ClinicError> {
    let hold = holds::find_by_digest(conn, &token.digest())?
        .ok_or_else(|| ClinicError::invalid("hold_token", "names no hold"))?;
    if hold.slot_id != slot_id || hold.visit_type_id != visit_type_id {
        return Err(ClinicError::invalid(
            "hold_token",
            "keeps another time or visit type than this booking asks for",
        ));
    }
    match hold.status(now) {
        HoldStatus::Active => Ok(Some(hold.id)),
        HoldStatus::Booked => Err(ClinicError::invalid(
            "hold_token",
            "was booked already; a hold books one visit",
        )),
        HoldStatus::Expired | HoldStatus::Released => Ok(None),
    }
}
