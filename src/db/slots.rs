//! The `slots` table: bookable intervals of a provider's time, and the one conditional write
//! that claims a slot.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::providers::Provider;
use super::schema::{booking_slots, providers, slots, visit_type_providers};
use super::types::Stamp;
use super::{fixed, DbConnection};
use crate::domain::ids::{BookingId, HoldId, LocationId, ProviderId, SlotId, VisitTypeId};
use crate::domain::slot::{SlotStatus, LONGEST_SLOT_HOURS};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = slots)]
pub struct Slot {
    pub id: SlotId,
    pub provider_id: ProviderId,
    #[diesel(deserialize_as = Stamp)]
    pub starts_at: NaiveDateTime,
    #[diesel(deserialize_as = Stamp)]
    pub ends_at: NaiveDateTime,
    pub status: SlotStatus,
    pub visit_type: Option<String>,
    #[diesel(deserialize_as = Stamp)]
    pub created_at: NaiveDateTime,
    /// Where the slot's time is spent; `None` means the main location (see the migration).
    pub location_id: Option<LocationId>,
    /// The hold that last kept this slot for a patient, and until when (see `db::holds`).
    pub hold_id: Option<HoldId>,
    pub held_until: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = slots)]
pub struct NewSlot {
    pub provider_id: ProviderId,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub status: SlotStatus,
    pub visit_type: Option<String>,
    pub created_at: NaiveDateTime,
    pub location_id: Option<LocationId>,
}

/// Only the slots of one location. Slots without a location are the main location's, so a
/// filter for the main one takes them too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AtLocation {
    pub id: LocationId,
    pub is_main: bool,
}

/// A boxed query's filter to the slots of `place`.
macro_rules! at_location {
    ($query:expr, $place:expr) => {{
        let mut query = $query;
        if let Some(place) = $place {
            query = if place.is_main {
                query.filter(
                    slots::location_id
                        .eq(place.id)
                        .or(slots::location_id.is_null()),
                )
            } else {
                query.filter(slots::location_id.eq(place.id))
            };
        }
        query
    }};
}

/// Whether `provider` has any slot at `place` starting from `now` on (a schedule there).
pub(crate) fn has_time_from(
    conn: &mut DbConnection,
    provider: ProviderId,
    place: AtLocation,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let query = slots::table
        .filter(slots::provider_id.eq(provider))
        .filter(slots::starts_at.ge(now))
        .select(slots::id)
        .into_boxed();
    Ok(at_location!(query, Some(place))
        .first::<SlotId>(conn)
        .optional()?
        .is_some())
}

/// A free slot with its provider, as patients browse them.
pub type OpenSlot = (Slot, Provider);

pub fn find(conn: &mut DbConnection, id: SlotId) -> QueryResult<Option<Slot>> {
    slots::table
        .find(id)
        .select(Slot::as_select())
        .get_result(conn)
        .optional()
}

pub(crate) fn find_with_provider(
    conn: &mut DbConnection,
    id: SlotId,
) -> QueryResult<Option<OpenSlot>> {
    slots::table
        .inner_join(providers::table)
        .filter(slots::id.eq(id))
        .select((Slot::as_select(), Provider::as_select()))
        .get_result(conn)
        .optional()
}

/// The provider's slot that starts at `start` (at `place`, when given): a time named by its
/// start rather than its id.
pub(crate) fn starting_at(
    conn: &mut DbConnection,
    provider_id: ProviderId,
    start: NaiveDateTime,
    place: Option<AtLocation>,
) -> QueryResult<Option<SlotId>> {
    let query = slots::table
        .filter(slots::provider_id.eq(provider_id))
        .filter(slots::starts_at.eq(start))
        .select(slots::id)
        .into_boxed();
    at_location!(query, place).get_result(conn).optional()
}

/// The open time a read asks for: slots starting in `[from, until)` that are open at `now`:
/// free, and not kept for someone by a live hold.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OpenBetween {
    pub from: NaiveDateTime,
    pub until: NaiveDateTime,
    pub now: NaiveDateTime,
}

/// A slot no live hold keeps: never held, or held until `now` or earlier.
macro_rules! not_held_at {
    ($now:expr) => {
        slots::held_until.is_null().or(slots::held_until.le($now))
    };
}

/// Open slots of active providers in `between`, ordered by start, at most `limit`.
pub(crate) fn free_between(
    conn: &mut DbConnection,
    provider_id: Option<ProviderId>,
    place: Option<AtLocation>,
    between: OpenBetween,
    limit: i64,
) -> QueryResult<Vec<OpenSlot>> {
    free_of_type_between(conn, provider_id, place, None, between, limit)
}

/// As `free_between`, and of one visit type when `visit_type` is given.
pub(crate) fn free_of_type_between(
    conn: &mut DbConnection,
    provider_id: Option<ProviderId>,
    place: Option<AtLocation>,
    visit_type: Option<&str>,
    between: OpenBetween,
    limit: i64,
) -> QueryResult<Vec<OpenSlot>> {
    let mut query = slots::table
        .inner_join(providers::table)
        .filter(slots::status.eq(fixed(SlotStatus::Free.as_str())))
        .filter(slots::starts_at.ge(between.from))
        .filter(slots::starts_at.lt(between.until))
        .filter(not_held_at!(between.now))
        .filter(providers::active.eq(true))
        .select((Slot::as_select(), Provider::as_select()))
        .order((slots::starts_at.asc(), slots::provider_id.asc()))
        .into_boxed();
    if let Some(provider_id) = provider_id {
        query = query.filter(slots::provider_id.eq(provider_id));
    }
    if let Some(visit_type) = visit_type {
        query = query.filter(slots::visit_type.eq(visit_type.to_owned()));
    }
    let query = at_location!(query, place);
    match conn {
        // SQLite compiles a bound LIMIT into the statement, so binding it again recompiles the
        // cached statement on every execution (a seventh of a list's time, in perf). Its rows
        // come one step at a time, in the index's order: reading only the first `limit` is the
        // limit, and the statement stays compiled.
        DbConnection::Sqlite(_) => {
            let wanted = usize::try_from(limit).unwrap_or(usize::MAX);
            query
                .load_iter::<OpenSlot, diesel::connection::DefaultLoadingMode>(conn)?
                .take(wanted)
                .collect()
        }
        DbConnection::Postgres(_) => query.limit(limit).load(conn),
    }
}

/// A free slot as the walk for a visit type's starts reads it: only what deciding a start needs
/// (the answer's few slots are read whole afterwards, `with_providers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = slots)]
pub(crate) struct FreeSpan {
    pub id: SlotId,
    pub provider_id: ProviderId,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub location_id: Option<LocationId>,
}

/// These slots with their providers, if active (in no particular order): the answer's slots of
/// a walk that read only `FreeSpan`s.
pub(crate) fn with_providers(
    conn: &mut DbConnection,
    ids: &[SlotId],
) -> QueryResult<Vec<OpenSlot>> {
    slots::table
        .inner_join(providers::table)
        .filter(slots::id.eq_any(ids))
        .filter(providers::active.eq(true))
        .select((Slot::as_select(), Provider::as_select()))
        .load(conn)
}

/// One page, at most `limit`, of the open slots in `between` of the providers who offer
/// `visit_type` (or of `provider`, if they offer it), by start then provider, after the slot
/// `after` names (its start and provider) when given: a visit type's starts are looked for a
/// page at a time, walking the free slots by start. Whether the providers are active is for the
/// caller to find out, with the few slots it answers (`with_providers`): a join here would
/// cost every page its planning and decoding.
pub(crate) fn free_for_visit_type_by_start(
    conn: &mut DbConnection,
    visit_type: VisitTypeId,
    provider: Option<ProviderId>,
    place: Option<AtLocation>,
    between: OpenBetween,
    after: Option<(NaiveDateTime, ProviderId)>,
    limit: i64,
) -> QueryResult<Vec<FreeSpan>> {
    // A correlated `EXISTS`, not `IN (...)`: with `IN`, SQLite reads every offering provider's
    // slots up to the horizon and sorts them; with it, both backends walk the free slots by
    // start and stop at the page's end.
    let offered = diesel::dsl::exists(
        visit_type_providers::table
            .filter(visit_type_providers::visit_type_id.eq(visit_type))
            .filter(visit_type_providers::provider_id.eq(slots::provider_id)),
    );
    let from = after.map_or(between.from, |(start, _)| start);
    let mut query = slots::table
        .filter(slots::status.eq(fixed(SlotStatus::Free.as_str())))
        .filter(slots::starts_at.ge(from))
        .filter(slots::starts_at.lt(between.until))
        .filter(not_held_at!(between.now))
        .filter(offered)
        .select(FreeSpan::as_select())
        .order((slots::starts_at.asc(), slots::provider_id.asc()))
        .limit(limit)
        .into_boxed();
    // One provider is asked as the single-length list asks it: PostgreSQL then plans a range of
    // that provider's slots.
    if let Some(provider) = provider {
        query = query.filter(slots::provider_id.eq(provider));
    }
    if let Some((start, provider)) = after {
        query = query.filter(
            slots::starts_at
                .gt(start)
                .or(slots::provider_id.gt(provider)),
        );
    }
    at_location!(query, place).load(conn)
}

/// The provider's slots (of any status) starting in `[from, until)`, by start: the run a visit
/// from `from` would hold.
pub(crate) fn run_from(
    conn: &mut DbConnection,
    provider_id: ProviderId,
    from: NaiveDateTime,
    until: NaiveDateTime,
) -> QueryResult<Vec<Slot>> {
    slots::table
        .filter(slots::provider_id.eq(provider_id))
        .filter(slots::starts_at.ge(from))
        .filter(slots::starts_at.lt(until))
        .select(Slot::as_select())
        .order(slots::starts_at.asc())
        .load(conn)
}

/// Records that a booking holds these (just claimed) slots. The key on `booking_slots.slot_id`
/// refuses a slot that another booking holds, whatever the slots' statuses say.
pub(crate) fn hold(
    conn: &mut DbConnection,
    booking_id: BookingId,
    held: &[SlotId],
) -> QueryResult<()> {
    for &slot_id in held {
        diesel::insert_into(booking_slots::table)
            .values((
                booking_slots::slot_id.eq(slot_id),
                booking_slots::booking_id.eq(booking_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Lets go of every slot the booking holds and frees those still busy (staff may have blocked
/// one meanwhile: it stays blocked).
pub(crate) fn let_go(conn: &mut DbConnection, booking_id: BookingId) -> QueryResult<()> {
    let held: Vec<SlotId> = booking_slots::table
        .filter(booking_slots::booking_id.eq(booking_id))
        .select(booking_slots::slot_id)
        .load(conn)?;
    diesel::delete(booking_slots::table.filter(booking_slots::booking_id.eq(booking_id)))
        .execute(conn)?;
    diesel::update(
        slots::table
            .filter(slots::id.eq_any(&held))
            .filter(slots::status.eq(fixed(SlotStatus::Busy.as_str()))),
    )
    .set(slots::status.eq(SlotStatus::Free.as_str()))
    .execute(conn)?;
    Ok(())
}

/// Marks a free, future slot busy. Returns false when someone else got it first (or it is
/// blocked, past, or kept by a live hold other than `hold`): the `WHERE status = 'free'` makes
/// this the single point where a slot is won.
pub fn claim(
    conn: &mut DbConnection,
    id: SlotId,
    now: NaiveDateTime,
    hold: Option<HoldId>,
) -> QueryResult<bool> {
    let target = slots::table
        .filter(slots::id.eq(id))
        .filter(slots::status.eq(fixed(SlotStatus::Free.as_str())))
        .filter(slots::starts_at.gt(now));
    let busy = slots::status.eq(SlotStatus::Busy.as_str());
    let updated = match hold {
        None => diesel::update(target.filter(not_held_at!(now)))
            .set(busy)
            .execute(conn)?,
        Some(hold) => diesel::update(target.filter(not_held_at!(now).or(slots::hold_id.eq(hold))))
            .set(busy)
            .execute(conn)?,
    };
    Ok(updated == 1)
}

/// Keeps a free, future slot that no live hold keeps for `hold` until `until`. False when it is
/// taken, blocked, started or held by another: like `slots::claim`, the conditional update alone
/// decides, so two holds racing for one slot never both get it.
pub(crate) fn keep(
    conn: &mut DbConnection,
    slot_id: SlotId,
    hold: HoldId,
    until: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let updated = diesel::update(
        slots::table
            .filter(slots::id.eq(slot_id))
            .filter(slots::status.eq(fixed(SlotStatus::Free.as_str())))
            .filter(slots::starts_at.gt(now))
            .filter(not_held_at!(now)),
    )
    .set((slots::hold_id.eq(hold), slots::held_until.eq(until)))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Lets go at once of the slots `hold` keeps.
pub(crate) fn let_go_of_hold(conn: &mut DbConnection, hold: HoldId) -> QueryResult<usize> {
    diesel::update(
        slots::table
            .filter(slots::hold_id.eq(hold))
            .filter(slots::held_until.is_not_null()),
    )
    .set(slots::held_until.eq(None::<NaiveDateTime>))
    .execute(conn)
}

/// Frees a busy slot again (its booking was cancelled or moved).
pub fn release(conn: &mut DbConnection, id: SlotId) -> QueryResult<bool> {
    let updated = diesel::update(
        slots::table
            .filter(slots::id.eq(id))
            .filter(slots::status.eq(fixed(SlotStatus::Busy.as_str()))),
    )
    .set(slots::status.eq(SlotStatus::Free.as_str()))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Whether the provider already has a slot overlapping `[start, end)`.
pub fn overlaps(
    conn: &mut DbConnection,
    provider_id: ProviderId,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> QueryResult<bool> {
    // Bounded below as well, so the index range is a day's worth of slots, not the provider's
    // whole history (schedule runs slowed down as a provider's slots accumulated).
    let earliest_start = earliest_overlapping_start(start);
    diesel::select(diesel::dsl::exists(
        slots::table
            .filter(slots::provider_id.eq(provider_id))
            .filter(slots::starts_at.ge(earliest_start))
            .filter(slots::starts_at.lt(end))
            .filter(slots::ends_at.gt(start)),
    ))
    .get_result(conn)
}

/// The earliest start of a slot that could overlap `[start, …)`: slots last at most
/// `LONGEST_SLOT_HOURS`, so the index range stays a day's worth of slots.
fn earliest_overlapping_start(start: NaiveDateTime) -> NaiveDateTime {
    start
        .checked_sub_signed(chrono::Duration::hours(LONGEST_SLOT_HOURS))
        .unwrap_or(NaiveDateTime::MIN)
}

/// The provider's slots (of any status) overlapping `[start, end)`, by start.
pub(crate) fn overlapping(
    conn: &mut DbConnection,
    provider_id: ProviderId,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> QueryResult<Vec<Slot>> {
    slots::table
        .filter(slots::provider_id.eq(provider_id))
        .filter(slots::starts_at.ge(earliest_overlapping_start(start)))
        .filter(slots::starts_at.lt(end))
        .filter(slots::ends_at.gt(start))
        .select(Slot::as_select())
        .order(slots::starts_at.asc())
        .load(conn)
}

/// Blocks the provider's free slots overlapping `[start, end)`; returns the ones it blocked.
/// Each row changes only if it is still free when the update reaches it, so a slot a booking
/// claims meanwhile stays the booking's (and the caller sees that booking afterwards).
pub(crate) fn block_free_overlapping(
    conn: &mut DbConnection,
    provider_id: ProviderId,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> QueryResult<Vec<SlotId>> {
    diesel::update(
        slots::table
            .filter(slots::provider_id.eq(provider_id))
            .filter(slots::starts_at.ge(earliest_overlapping_start(start)))
            .filter(slots::starts_at.lt(end))
            .filter(slots::ends_at.gt(start))
            .filter(slots::status.eq(fixed(SlotStatus::Free.as_str()))),
    )
    .set(slots::status.eq(SlotStatus::Blocked.as_str()))
    .returning(slots::id)
    .get_results(conn)
}

/// Frees those of `ids` that are still blocked; returns how many.
pub(crate) fn unblock(conn: &mut DbConnection, ids: &[SlotId]) -> QueryResult<usize> {
    let mut freed = 0;
    // Bounded statements: SQLite takes at most 32766 parameters.
    for chunk in ids.chunks(1000) {
        freed += diesel::update(
            slots::table
                .filter(slots::id.eq_any(chunk))
                .filter(slots::status.eq(fixed(SlotStatus::Blocked.as_str()))),
        )
        .set(slots::status.eq(SlotStatus::Free.as_str()))
        .execute(conn)?;
    }
    Ok(freed)
}

/// The slots among `ids` that are free.
pub(crate) fn free_of(conn: &mut DbConnection, ids: &[SlotId]) -> QueryResult<Vec<Slot>> {
    let mut free = Vec::new();
    for chunk in ids.chunks(1000) {
        free.extend(
            slots::table
                .filter(slots::id.eq_any(chunk))
                .filter(slots::status.eq(fixed(SlotStatus::Free.as_str())))
                .select(Slot::as_select())
                .load(conn)?,
        );
    }
    Ok(free)
}

/// Inserts the slots that overlap nothing the provider already has; returns how many were
/// created. Callers run it inside a write transaction.
pub(crate) fn insert_non_overlapping(
    conn: &mut DbConnection,
    new_slots: &[NewSlot],
) -> QueryResult<usize> {
    let mut created = 0;
    for slot in new_slots {
        if overlaps(conn, slot.provider_id, slot.starts_at, slot.ends_at)? {
            continue;
        }
        diesel::insert_into(slots::table)
            .values(slot)
            .execute(conn)?;
        created += 1;
    }
    Ok(created)
}

impl NewSlot {
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<Slot> {
        diesel::insert_into(slots::table)
            .values(self)
            .get_result::<Slot>(conn)
    }
}

/// Moves a slot from `from` to `to`; false if its status was no longer `from`.
pub(crate) fn set_status(
    conn: &mut DbConnection,
    id: SlotId,
    from: SlotStatus,
    to: SlotStatus,
) -> QueryResult<bool> {
    let updated = diesel::update(
        slots::table
            .filter(slots::id.eq(id))
            .filter(slots::status.eq(fixed(from.as_str()))),
    )
    .set(slots::status.eq(to.as_str()))
    .execute(conn)?;
    Ok(updated == 1)
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, NaiveDate};
    use diesel::prelude::*;
    use diesel::sqlite::SqliteConnection;

    use super::*;
    use crate::db::providers::NewProvider;

    #[test]
    fn overlaps_finds_the_longest_slot_from_either_side() {
        let mut conn = DbConnection::Sqlite(SqliteConnection::establish(":memory:").unwrap());
        crate::db::run_migrations(&mut conn).unwrap();
        let at = |h: i64| {
            NaiveDate::from_ymd_opt(2030, 1, 7)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
                + Duration::hours(h)
        };
        let provider = NewProvider {
            name: "Dr. Rivera",
            title: "",
            specialty: "",
            bio: "",
            active: true,
            created_at: at(0),
            updated_at: at(0),
        }
        .insert(&mut conn)
        .unwrap()
        .id;
        // A working day's slot, 08:00-20:00.
        NewSlot {
            provider_id: provider,
            starts_at: at(8),
            ends_at: at(8 + LONGEST_SLOT_HOURS),
            status: SlotStatus::Free,
            visit_type: None,
            created_at: at(0),
            location_id: None,
        }
        .insert(&mut conn)
        .unwrap();
        let overlaps_at = |conn: &mut DbConnection, from: i64, to: i64| {
            overlaps(conn, provider, at(from), at(to)).unwrap()
        };
        assert!(overlaps_at(&mut conn, 19, 21), "its last hour");
        assert!(overlaps_at(&mut conn, 7, 9), "its first hour");
        assert!(overlaps_at(&mut conn, 10, 11), "inside it");
        assert!(!overlaps_at(&mut conn, 20, 21), "right after it");
        assert!(!overlaps_at(&mut conn, 7, 8), "right before it");
    }
}
