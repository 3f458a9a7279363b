//! The `locations` table: where the clinic sees patients, and in which time zone.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{locations, slots};
use super::DbConnection;
use crate::domain::ids::LocationId;
use crate::domain::location::TimeZone;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = locations)]
pub struct Location {
    pub id: LocationId,
    pub name: String,
    pub address: String,
    pub phone: String,
    pub timezone: TimeZone,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = locations)]
pub struct NewLocation<'a> {
    pub name: &'a str,
    pub address: &'a str,
    pub phone: &'a str,
    pub timezone: TimeZone,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl NewLocation<'_> {
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<Location> {
        diesel::insert_into(locations::table)
            .values(self)
            .get_result(conn)
    }
}

/// The columns an admin may change; `None` leaves a column as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = locations)]
pub struct LocationChanges {
    pub name: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub timezone: Option<TimeZone>,
    pub active: Option<bool>,
    pub updated_at: Option<NaiveDateTime>,
}

pub fn find(conn: &mut DbConnection, id: LocationId) -> QueryResult<Option<Location>> {
    locations::table
        .find(id)
        .select(Location::as_select())
        .get_result(conn)
        .optional()
}

pub(crate) fn find_by_name(conn: &mut DbConnection, name: &str) -> QueryResult<Option<Location>> {
    locations::table
        .filter(locations::name.eq(name))
        .select(Location::as_select())
        .get_result(conn)
        .optional()
}

/// Every location (or only the active ones), by id: the main location comes first.
pub fn list(conn: &mut DbConnection, active_only: bool) -> QueryResult<Vec<Location>> {
    let mut query = locations::table
        .select(Location::as_select())
        .order(locations::id.asc())
        .into_boxed();
    if active_only {
        query = query.filter(locations::active.eq(true));
    }
    query.load(conn)
}

/// The main location: the one with the lowest id, where slots without a location are.
/// (No `LIMIT 1`: see the module note in `db` on bound limits and SQLite's statement cache.)
pub(crate) fn main(conn: &mut DbConnection) -> QueryResult<Option<Location>> {
    let lowest: Option<LocationId> = locations::table
        .select(diesel::dsl::min(locations::id))
        .get_result(conn)?;
    match lowest {
        Some(id) => find(conn, id),
        None => Ok(None),
    }
}

/// Applies `changes` and returns the location as it now is.
pub(crate) fn update(
    conn: &mut DbConnection,
    id: LocationId,
    changes: &LocationChanges,
) -> QueryResult<Location> {
    diesel::update(locations::table.find(id))
        .set(changes)
        .execute(conn)?;
    locations::table
        .find(id)
        .select(Location::as_select())
        .get_result(conn)
}

/// Gives the slots without a location (made before locations, or by an older copy) to `main`;
/// returns how many.
pub(crate) fn assign_unplaced_slots(
    conn: &mut DbConnection,
    main: LocationId,
) -> QueryResult<usize> {
    diesel::update(slots::table.filter(slots::location_id.is_null()))
        .set(slots::location_id.eq(main))
        .execute(conn)
}
