//! The `slots` table: bookable intervals of a provider's time, and the one conditional write
//! that claims a slot.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::providers::Provider;
use super::schema::{booking_slots, providers, slots};
use super::DbConnection;
use crate::domain::ids::{BookingId, ProviderId, SlotId};
use crate::domain::slot::{SlotStatus, LONGEST_SLOT_HOURS};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = slots)]
pub struct Slot {
    pub id: SlotId,
    pub provider_id: ProviderId,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub status: SlotStatus,
    pub visit_type: Option<String>,
    pub created_at: NaiveDateTime,
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

/// Free slots of active providers starting in `[from, to)`, ordered by start, at most `limit`.
pub(crate) fn free_between(
    conn: &mut DbConnection,
    provider_id: Option<ProviderId>,
    from: NaiveDateTime,
    to: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<OpenSlot>> {
    free_of_type_between(conn, provider_id, None, from, to, limit)
}

/// As `free_between`, and of one visit type when `visit_type` is given.
pub(crate) fn free_of_type_between(
    conn: &mut DbConnection,
    provider_id: Option<ProviderId>,
    visit_type: Option<&str>,
    from: NaiveDateTime,
    to: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<OpenSlot>> {
    let mut query = slots::table
        .inner_join(providers::table)
        .filter(slots::status.eq(SlotStatus::Free.as_str()))
        .filter(slots::starts_at.ge(from))
        .filter(slots::starts_at.lt(to))
        .filter(providers::active.eq(true))
        .select((Slot::as_select(), Provider::as_select()))
        .order((slots::starts_at.asc(), slots::provider_id.asc()))
        .limit(limit)
        .into_boxed();
    if let Some(provider_id) = provider_id {
        query = query.filter(slots::provider_id.eq(provider_id));
    }
    if let Some(visit_type) = visit_type {
        query = query.filter(slots::visit_type.eq(visit_type.to_owned()));
    }
    query.load(conn)
}

/// Free slots of these active providers starting in `[from, to)`, by provider and start: the
/// stretches a visit type's availability is cut from. The caller bounds the window.
pub(crate) fn free_of_providers_between(
    conn: &mut DbConnection,
    provider_ids: &[ProviderId],
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<OpenSlot>> {
    slots::table
        .inner_join(providers::table)
        .filter(slots::status.eq(SlotStatus::Free.as_str()))
        .filter(slots::provider_id.eq_any(provider_ids))
        .filter(slots::starts_at.ge(from))
        .filter(slots::starts_at.lt(to))
        .filter(providers::active.eq(true))
        .select((Slot::as_select(), Provider::as_select()))
        .order((slots::provider_id.asc(), slots::starts_at.asc()))
        .load(conn)
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
            .filter(slots::status.eq(SlotStatus::Busy.as_str())),
    )
    .set(slots::status.eq(SlotStatus::Free.as_str()))
    .execute(conn)?;
    Ok(())
}

/// Marks a free, future slot busy. Returns false when someone else got it first (or it is blocked
/// or past): the `WHERE status = 'free'` makes this the single point where a slot is won.
pub fn claim(conn: &mut DbConnection, id: SlotId, now: NaiveDateTime) -> QueryResult<bool> {
    let updated = diesel::update(
        slots::table
            .filter(slots::id.eq(id))
            .filter(slots::status.eq(SlotStatus::Free.as_str()))
            .filter(slots::starts_at.gt(now)),
    )
    .set(slots::status.eq(SlotStatus::Busy.as_str()))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Frees a busy slot again (its booking was cancelled or moved).
pub fn release(conn: &mut DbConnection, id: SlotId) -> QueryResult<bool> {
    let updated = diesel::update(
        slots::table
            .filter(slots::id.eq(id))
            .filter(slots::status.eq(SlotStatus::Busy.as_str())),
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
    let earliest_start = start
        .checked_sub_signed(chrono::Duration::hours(LONGEST_SLOT_HOURS))
        .unwrap_or(NaiveDateTime::MIN);
    diesel::select(diesel::dsl::exists(
        slots::table
            .filter(slots::provider_id.eq(provider_id))
            .filter(slots::starts_at.ge(earliest_start))
            .filter(slots::starts_at.lt(end))
            .filter(slots::ends_at.gt(start)),
    ))
    .get_result(conn)
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
            .filter(slots::status.eq(from.as_str())),
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
