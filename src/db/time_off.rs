//! The `time_off` table, and `time_off_slots`: the slots each time off holds blocked.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{time_off, time_off_slots};
use super::DbConnection;
use crate::domain::ids::{ProviderId, SlotId, TimeOffId, UserId};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = time_off)]
pub struct TimeOff {
    pub id: TimeOffId,
    pub provider_id: ProviderId,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub reason: String,
    pub created_by: Option<UserId>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = time_off)]
pub struct NewTimeOff<'a> {
    pub provider_id: ProviderId,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub reason: &'a str,
    pub created_by: Option<UserId>,
    pub created_at: NaiveDateTime,
}

impl NewTimeOff<'_> {
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<TimeOff> {
        diesel::insert_into(time_off::table)
            .values(self)
            .get_result(conn)
    }
}

pub(crate) fn find(
    conn: &mut DbConnection,
    provider_id: ProviderId,
    id: TimeOffId,
) -> QueryResult<Option<TimeOff>> {
    time_off::table
        .filter(time_off::id.eq(id))
        .filter(time_off::provider_id.eq(provider_id))
        .select(TimeOff::as_select())
        .get_result(conn)
        .optional()
}

/// The provider's time off, latest start first, at most `limit`.
pub(crate) fn of_provider(
    conn: &mut DbConnection,
    provider_id: ProviderId,
    limit: i64,
) -> QueryResult<Vec<TimeOff>> {
    time_off::table
        .filter(time_off::provider_id.eq(provider_id))
        .select(TimeOff::as_select())
        .order((time_off::starts_at.desc(), time_off::id.desc()))
        .limit(limit)
        .load(conn)
}

/// Records that the time off holds these slots blocked.
pub(crate) fn hold(conn: &mut DbConnection, id: TimeOffId, held: &[SlotId]) -> QueryResult<()> {
    for &slot_id in held {
        diesel::insert_into(time_off_slots::table)
            .values((
                time_off_slots::time_off_id.eq(id),
                time_off_slots::slot_id.eq(slot_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Which of these slots some time off holds blocked.
pub(crate) fn held_among(conn: &mut DbConnection, slots: &[SlotId]) -> QueryResult<Vec<SlotId>> {
    time_off_slots::table
        .filter(time_off_slots::slot_id.eq_any(slots))
        .select(time_off_slots::slot_id)
        .distinct()
        .load(conn)
}

/// Removes a time off and its holds; returns the slots it held that no other time off holds.
pub(crate) fn remove(conn: &mut DbConnection, id: TimeOffId) -> QueryResult<Vec<SlotId>> {
    let held: Vec<SlotId> = time_off_slots::table
        .filter(time_off_slots::time_off_id.eq(id))
        .select(time_off_slots::slot_id)
        .load(conn)?;
    diesel::delete(time_off_slots::table.filter(time_off_slots::time_off_id.eq(id)))
        .execute(conn)?;
    diesel::delete(time_off::table.find(id)).execute(conn)?;
    let still_held = held_among(conn, &held)?;
    Ok(held
        .into_iter()
        .filter(|slot| !still_held.contains(slot))
        .collect())
}

/// Whether the provider has time off overlapping `[start, end)`.
pub(crate) fn overlaps(
    conn: &mut DbConnection,
    provider: ProviderId,
    (start, end): (NaiveDateTime, NaiveDateTime),
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        time_off::table
            .filter(time_off::provider_id.eq(provider))
            .filter(time_off::starts_at.lt(end))
            .filter(time_off::ends_at.gt(start)),
    ))
    .get_result(conn)
}
