//! Where a visit type fits: the free slots from which the visit and its buffer run on through
//! back-to-back free slots of the same provider. Patients choose among these starts; booking one
//! claims the whole run (`appointments::book`).

use std::collections::{HashMap, HashSet};

use chrono::{Duration, NaiveDateTime};

use super::{locations, ClinicError, Unavailable};
use crate::db::slots::{self, AtLocation, FreeSpan, OpenBetween, OpenSlot, Slot};
use crate::db::visit_types::{self, VisitType};
use crate::db::DbConnection;
use crate::domain::ids::{LocationId, ProviderId, SlotId, VisitTypeId};
use crate::domain::slot::{covering_prefix, fit_so_far, Fit, ReadUpTo};

/// An active visit type; an unknown or withdrawn one is not found.
pub(crate) fn active_visit_type(
    conn: &mut DbConnection,
    id: VisitTypeId,
) -> Result<VisitType, ClinicError> {
    visit_types::find(conn, id)?
        .filter(|v| v.active)
        .ok_or(ClinicError::NotFound("visit type"))
}

/// What patients choose from in `between`, by start, at most `limit`: open slots, or with a
/// visit type (which the caller has read, for its rules too) the starts where it fits.
pub(crate) fn open_times(
    conn: &mut DbConnection,
    visit_type: Option<&VisitType>,
    provider_id: Option<ProviderId>,
    place: Option<AtLocation>,
    between: OpenBetween,
    limit: usize,
) -> Result<Vec<OpenSlot>, ClinicError> {
    match visit_type {
        None => {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            Ok(slots::free_between(
                conn,
                provider_id,
                place,
                between,
                limit,
            )?)
        }
        Some(visit_type) => fitting(conn, visit_type, provider_id, place, between, limit),
    }
}

/// The slots a visit from `first` would hold, in order of start, and where the visit ends:
/// without a visit type exactly `first`; with one, the shortest run of back-to-back slots of
/// the provider at `first`'s location that lasts the visit and its buffer. Whether they are
/// open is for the caller's conditional writes to find out.
pub(crate) fn visit_run(
    conn: &mut DbConnection,
    first: &Slot,
    visit_type: Option<&VisitType>,
) -> Result<(Vec<Slot>, NaiveDateTime), ClinicError> {
    let refused = |reason| ClinicError::SlotUnavailable {
        slot_id: first.id,
        reason,
    };
    let Some(visit_type) = visit_type else {
        return Ok((vec![first.clone()], first.ends_at));
    };
    let visit_end = first
        .starts_at
        .checked_add_signed(visit_type.duration())
        .ok_or(refused(Unavailable::DoesNotFit))?;
    let held_until = first
        .starts_at
        .checked_add_signed(visit_type.held_time())
        .ok_or(refused(Unavailable::DoesNotFit))?;
    let mut run = slots::run_from(conn, first.provider_id, first.starts_at, held_until)?;
    // A visit stays at one place: the run ends where the provider's time moves to another
    // location (a slot without one is the main location's, as is a first slot without one).
    let main = match run.iter().any(|s| s.location_id.is_none()) {
        true => Some(locations::of_slot(conn, None)?.id),
        false => None,
    };
    let place = |s: &Slot| s.location_id.or(main);
    if let Some(at) = run.iter().position(|s| place(s) != place(first)) {
        run.truncate(at);
    }
    let spans: Vec<_> = run.iter().map(|s| (s.starts_at, s.ends_at)).collect();
    let count =
        covering_prefix(&spans, visit_type.held_time()).ok_or(refused(Unavailable::DoesNotFit))?;
    run.truncate(count);
    Ok((run, visit_end))
}

/// Lists this long or shorter walk the free slots a page at a time; longer ones read their
/// window in one (see `fitting`).
const SHORT_LIST: usize = 100;

/// The starts in `between` where `visit_type` fits, with one provider or any who offers
/// it, ordered by start then provider, at most `limit`. Each answer's slot ends where the visit
/// would (its first slot's id is what a booking names). A visit stays at one location: free
/// time that runs on at another location does not make it fit.
///
/// The free slots are walked by start a page at a time, and the walk stops once the first starts
/// are decided: a short list (the call to action's few times, the earliest candidates) reads
/// about as many slots as the visit needs past the first free ones, not the whole horizon's
/// (which, across a clinic's providers, is tens of thousands of rows); a long one (a week's
/// list) reads its window in one page.
pub(crate) fn fitting(
    conn: &mut DbConnection,
    visit_type: &VisitType,
    provider_id: Option<ProviderId>,
    place: Option<AtLocation>,
    between: OpenBetween,
    limit: usize,
) -> Result<Vec<OpenSlot>, ClinicError> {
    // After each page, every slot before the last one read has been read; a start whose run
    // reaches that far unbroken waits for the next page.
    if limit == 0 {
        return Ok(Vec::new());
    }
    let need = visit_type.held_time();
    let until = between.until;
    // A visit starting just before `until` runs past it: read that far.
    let read = OpenBetween {
        until: until.checked_add_signed(need).unwrap_or(NaiveDateTime::MAX),
        ..between
    };
    // A page holds the first starts of several providers and the slots that complete them.
    let page = match limit <= SHORT_LIST {
        true => i64::try_from(limit.saturating_mul(8).max(64)).unwrap_or(i64::MAX),
        false => i64::MAX,
    };
    let mut seen: Vec<FreeSpan> = Vec::new();
    let mut after = None;
    let mut exhausted = false;
    let mut main = None;
    // Providers found inactive: their slots are left out.
    let mut inactive: HashSet<ProviderId> = HashSet::new();
    let mut read_more = true;
    loop {
        if read_more {
            let got = slots::free_for_visit_type_by_start(
                conn,
                visit_type.id,
                provider_id,
                place,
                read,
                after,
                page,
            )?;
            exhausted = i64::try_from(got.len()).unwrap_or(i64::MAX) < page;
            if let Some(last) = got.last() {
                after = Some((last.starts_at, last.provider_id));
            }
            seen.extend(
                got.into_iter()
                    .filter(|s| !inactive.contains(&s.provider_id)),
            );
            // Slots without a location are the main location's (asked only when there are any).
            if main.is_none() && seen.iter().any(|s| s.location_id.is_none()) {
                main = Some(locations::of_slot(conn, None)?.id);
            }
        }
        // Every slot before the last one read (by start, then provider) has been read.
        let scanned = after.filter(|_| !exhausted);
        let Some(found) = decided(&seen, need, main, until, scanned, limit) else {
            read_more = true;
            continue;
        };
        let ids: Vec<SlotId> = found.iter().map(|&i| seen[i].id).collect();
        let mut whole: HashMap<SlotId, OpenSlot> = slots::with_providers(conn, &ids)?
            .into_iter()
            .map(|open| (open.0.id, open))
            .collect();
        if whole.len() == ids.len() {
            return Ok(ids
                .iter()
                .filter_map(|id| whole.remove(id))
                .map(|(mut slot, provider)| {
                    // The answer's slot ends where the visit would.
                    slot.ends_at = slot.starts_at + visit_type.duration();
                    (slot, provider)
                })
                .collect());
        }
        // A provider of the answer is inactive: decide again without their slots.
        for &i in &found {
            if !whole.contains_key(&seen[i].id) {
                inactive.insert(seen[i].provider_id);
            }
        }
        seen.retain(|s| !inactive.contains(&s.provider_id));
        read_more = false;
    }
}

/// The first `limit` starts where a visit holding `need` fits among `read` (free slots by start
/// then provider), as indexes into `read`, if they are decided: no start before the last of them
/// still waits for slots after `scanned`, the last slot read (start, provider; `None` when all
/// are read).
fn decided(
    read: &[FreeSpan],
    need: Duration,
    main: Option<LocationId>,
    until: NaiveDateTime,
    scanned: Option<(NaiveDateTime, ProviderId)>,
    limit: usize,
) -> Option<Vec<usize>> {
    // Each provider's slots at one location, in order of start.
    let mut runs: HashMap<(ProviderId, Option<LocationId>), Vec<usize>> = HashMap::new();
    for (i, slot) in read.iter().enumerate() {
        let place = slot.location_id.or(main);
        runs.entry((slot.provider_id, place)).or_default().push(i);
    }
    let mut fits: Vec<usize> = Vec::new();
    let mut first_open: Option<usize> = None;
    for (&(provider, _), run) in &runs {
        // This provider's slots at the last start read are read when it comes first.
        let read_up_to = scanned.map(|(start, last)| ReadUpTo {
            start,
            inclusive: provider <= last,
        });
        let spans: Vec<_> = run
            .iter()
            .map(|&i| (read[i].starts_at, read[i].ends_at))
            .collect();
        for (k, &i) in run.iter().enumerate() {
            if read[i].starts_at >= until {
                break;
            }
            match fit_so_far(&spans[k..], need, read_up_to) {
                Fit::Fits(_) => fits.push(i),
                Fit::Cut => {}
                Fit::Unknown => {
                    first_open = Some(first_open.map_or(i, |f| f.min(i)));
                    break;
                }
            }
        }
    }
    // `read` is in order, so an index orders starts as the answer does.
    fits.sort_unstable();
    let settled = fits
        .iter()
        .take_while(|&&i| first_open.is_none_or(|open| i < open))
        .count();
    if settled < limit && (first_open.is_some() || scanned.is_some()) {
        return None;
    }
    fits.truncate(limit);
    Some(fits)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::domain::slot::fitting_starts;

    fn eight() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2027, 3, 3)
            .and_then(|d| d.and_hms_opt(8, 0, 0))
            .expect("a day")
    }

    /// Free slots (minutes after 8:00, length) of four providers, by start then provider, as
    /// the walk reads them: gaps are booked or unworked time. The fourth works in longer slots,
    /// so a later provider's visit can be decided before an earlier one's.
    fn free_slots() -> Vec<FreeSpan> {
        let quarters =
            |minutes: &[i64]| -> Vec<(i64, i64)> { minutes.iter().map(|&m| (m, 15)).collect() };
        let free: [(i32, Vec<(i64, i64)>); 4] = [
            (
                1,
                quarters(&[0, 30, 60, 90, 120, 135, 150, 165, 180, 240, 255, 270, 285]),
            ),
            (2, quarters(&[15, 30, 45, 60, 75, 105, 120, 135, 150])),
            (3, quarters(&[0, 15, 45, 60, 120, 135, 150, 165, 180, 195])),
            (4, vec![(0, 60), (60, 30), (120, 45), (180, 15), (195, 15)]),
        ];
        let mut slots: Vec<FreeSpan> = free
            .iter()
            .flat_map(|(provider, spans)| {
                let provider = *provider;
                spans.iter().map(move |&(m, length)| {
                    let start = eight() + Duration::minutes(m);
                    FreeSpan {
                        id: SlotId::new(i32::try_from(m).expect("small") * 10 + provider),
                        provider_id: ProviderId::new(provider),
                        starts_at: start,
                        ends_at: start + Duration::minutes(length),
                        location_id: Some(LocationId::new(1)),
                    }
                })
            })
            .collect();
        slots.sort_by_key(|s| (s.starts_at, s.provider_id));
        slots
    }

    /// (minutes after 8:00, provider) of each start.
    fn starts<'a>(found: impl IntoIterator<Item = &'a FreeSpan>) -> Vec<(i64, i32)> {
        found
            .into_iter()
            .map(|s| ((s.starts_at - eight()).num_minutes(), s.provider_id.get()))
            .collect()
    }

    #[test]
    fn the_first_starts_are_the_same_whatever_page_the_walk_stops_at() {
        let read = free_slots();
        let until = NaiveDateTime::MAX;
        for minutes in [15, 30, 45, 60] {
            let need = Duration::minutes(minutes);
            let all = decided(&read, need, None, until, None, usize::MAX).expect("all read");
            // Against each provider's fitting starts, found on its own.
            let mut expected: Vec<(i64, i32)> = Vec::new();
            for provider in 1..=4 {
                let own: Vec<_> = read
                    .iter()
                    .filter(|s| s.provider_id.get() == provider)
                    .collect();
                let spans: Vec<_> = own.iter().map(|s| (s.starts_at, s.ends_at)).collect();
                expected.extend(starts(
                    fitting_starts(&spans, need).into_iter().map(|i| own[i]),
                ));
            }
            expected.sort_unstable();
            assert_eq!(
                starts(all.iter().map(|&i| &read[i])),
                expected,
                "{minutes}-minute visit"
            );
            for limit in [1, 3, 5] {
                let first: Vec<_> = expected.iter().copied().take(limit).collect();
                let mut stopped_early = false;
                // Pages ending after each slot: every answer given is the same first starts.
                for n in 1..read.len() {
                    let last = &read[n - 1];
                    let scanned = Some((last.starts_at, last.provider_id));
                    if let Some(found) = decided(&read[..n], need, None, until, scanned, limit) {
                        assert_eq!(
                            starts(found.iter().map(|&i| &read[i])),
                            first,
                            "{minutes} min, limit {limit}, {n} read"
                        );
                        stopped_early = true;
                    }
                }
                assert!(
                    stopped_early,
                    "{minutes} min, limit {limit}: the walk never stops early"
                );
            }
        }
    }
}
