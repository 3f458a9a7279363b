//! Where a visit type fits: the free slots from which the visit and its buffer run on through
//! back-to-back free slots of the same provider. Patients choose among these starts; booking one
//! claims the whole run (`appointments::book`).

use chrono::{Duration, NaiveDateTime};

use super::{locations, ClinicError};
use crate::db::slots::{self, AtLocation, OpenSlot};
use crate::db::visit_types::{self, VisitType};
use crate::db::DbConnection;
use crate::domain::ids::{ProviderId, VisitTypeId};
use crate::domain::slot::fitting_starts;

/// An active visit type; an unknown or withdrawn one is not found.
pub(crate) fn active_visit_type(
    conn: &mut DbConnection,
    id: VisitTypeId,
) -> Result<VisitType, ClinicError> {
    visit_types::find(conn, id)?
        .filter(|v| v.active)
        .ok_or(ClinicError::NotFound("visit type"))
}

/// What patients choose from in `[from, until)`, by start, at most `limit`: free slots, or with
/// a visit type (which the caller has read, for its rules too) the starts where it fits.
pub(crate) fn open_times(
    conn: &mut DbConnection,
    visit_type: Option<&VisitType>,
    provider_id: Option<ProviderId>,
    place: Option<AtLocation>,
    from: NaiveDateTime,
    until: NaiveDateTime,
    limit: usize,
) -> Result<Vec<OpenSlot>, ClinicError> {
    match visit_type {
        None => {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            Ok(slots::free_between(
                conn,
                provider_id,
                place,
                from,
                until,
                limit,
            )?)
        }
        Some(visit_type) => fitting(conn, visit_type, provider_id, place, from, until, limit),
    }
}

/// The starts in `[from, until)` where `visit_type` fits, with one provider or any who offers
/// it, ordered by start then provider, at most `limit`. Each answer's slot ends where the visit
/// would (its first slot's id is what a booking names). A visit stays at one location: free
/// time that runs on at another location does not make it fit.
///
/// A short list (the call to action's few times, the earliest candidates) is looked for a day
/// at a time, the window growing fourfold each round, so it reads the first days' free slots,
/// not the whole horizon's (which, across a clinic's providers, is tens of thousands of rows).
pub(crate) fn fitting(
    conn: &mut DbConnection,
    visit_type: &VisitType,
    provider_id: Option<ProviderId>,
    place: Option<AtLocation>,
    from: NaiveDateTime,
    until: NaiveDateTime,
    limit: usize,
) -> Result<Vec<OpenSlot>, ClinicError> {
    let mut providers = visit_types::providers_of(conn, visit_type.id)?;
    if let Some(only) = provider_id {
        providers.retain(|p| *p == only);
    }
    if providers.is_empty() {
        return Ok(Vec::new());
    }
    let mut width = if limit <= SHORT_LIST {
        Duration::days(1)
    } else {
        until - from
    };
    let mut found: Vec<OpenSlot> = Vec::new();
    let mut window_from = from;
    while window_from < until && found.len() < limit {
        let window_to = window_from
            .checked_add_signed(width)
            .map_or(until, |t| t.min(until));
        found.extend(fitting_in(
            conn,
            visit_type,
            &providers,
            place,
            window_from,
            window_to,
        )?);
        window_from = window_to;
        width = width * 4;
    }
    found.truncate(limit);
    Ok(found)
}

/// Lists this long or shorter are looked for a growing window at a time (see `fitting`).
const SHORT_LIST: usize = 100;

/// Every start in `[from, until)` where the visit fits with one of `providers`, by start then
/// provider.
fn fitting_in(
    conn: &mut DbConnection,
    visit_type: &VisitType,
    providers: &[ProviderId],
    place: Option<AtLocation>,
    from: NaiveDateTime,
    until: NaiveDateTime,
) -> Result<Vec<OpenSlot>, ClinicError> {
    // A visit starting just before `until` runs past it: read that far.
    let read_until = until
        .checked_add_signed(visit_type.held_time())
        .unwrap_or(NaiveDateTime::MAX);
    let free = slots::free_of_providers_between(conn, providers, place, from, read_until)?;
    // Slots without a location are the main location's (asked only when there are any).
    let main = match free.iter().any(|(s, _)| s.location_id.is_none()) {
        true => Some(locations::of_slot(conn, None)?.id),
        false => None,
    };
    let mut found: Vec<OpenSlot> = Vec::new();
    // `free` comes by provider, then start: each provider's stretch at one location is scanned
    // on its own.
    let same_stretch = |(a, _): &OpenSlot, (b, _): &OpenSlot| {
        a.provider_id == b.provider_id && a.location_id.or(main) == b.location_id.or(main)
    };
    for stretch in free.chunk_by(same_stretch) {
        let spans: Vec<_> = stretch
            .iter()
            .map(|(s, _)| (s.starts_at, s.ends_at))
            .collect();
        for i in fitting_starts(&spans, visit_type.held_time()) {
            let (slot, provider) = &stretch[i];
            if slot.starts_at >= until {
                break;
            }
            let mut slot = slot.clone();
            slot.ends_at = slot.starts_at + visit_type.duration();
            found.push((slot, provider.clone()));
        }
    }
    found.sort_by_key(|(slot, _)| (slot.starts_at, slot.provider_id));
    Ok(found)
}
