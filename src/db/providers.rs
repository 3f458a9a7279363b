//! The `providers` table: the clinic's clinicians.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::providers;
use super::types::Stamp;
use super::DbConnection;
use crate::domain::ids::ProviderId;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = providers)]
pub struct Provider {
    pub id: ProviderId,
    pub name: String,
    pub title: String,
    pub specialty: String,
    pub bio: String,
    pub active: bool,
    #[diesel(deserialize_as = Stamp)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = Stamp)]
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = providers)]
pub struct NewProvider<'a> {
    pub name: &'a str,
    pub title: &'a str,
    pub specialty: &'a str,
    pub bio: &'a str,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl NewProvider<'_> {
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<Provider> {
        diesel::insert_into(providers::table)
            .values(self)
            .get_result::<Provider>(conn)
    }
}

pub(crate) fn list_active(conn: &mut DbConnection) -> QueryResult<Vec<Provider>> {
    providers::table
        .filter(providers::active.eq(true))
        .order((providers::name.asc(), providers::id.asc()))
        .select(Provider::as_select())
        .load(conn)
}

pub fn find(conn: &mut DbConnection, id: ProviderId) -> QueryResult<Option<Provider>> {
    providers::table
        .find(id)
        .select(Provider::as_select())
        .get_result(conn)
        .optional()
}

/// Serializes changes to the provider's slots: a no-op update that takes the provider row's
/// lock until the write transaction ends. On PostgreSQL (READ COMMITTED) two transactions could
/// otherwise both check for overlaps, both find none, and both insert; the second now waits for
/// the first to commit and then sees its slots. SQLite's `BEGIN IMMEDIATE` already serializes
/// writers, so there it costs nothing more. Returns whether the provider exists.
pub(crate) fn lock_for_schedule(conn: &mut DbConnection, id: ProviderId) -> QueryResult<bool> {
    let updated = diesel::update(providers::table.find(id))
        .set(providers::updated_at.eq(providers::updated_at))
        .execute(conn)?;
    Ok(updated == 1)
}

pub(crate) fn find_by_name(conn: &mut DbConnection, name: &str) -> QueryResult<Option<Provider>> {
    providers::table
        .filter(providers::name.eq(name))
        .select(Provider::as_select())
        .get_result(conn)
        .optional()
}

pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
    providers::table.count().get_result(conn)
}

/// The columns an admin may change; `None` leaves a column as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = providers)]
pub struct ProviderChanges {
    pub name: Option<String>,
    pub title: Option<String>,
    pub specialty: Option<String>,
    pub bio: Option<String>,
    pub active: Option<bool>,
    pub updated_at: Option<NaiveDateTime>,
}

/// Applies `changes` (with `updated_at` set) and returns the provider as it now is.
pub fn update(
    conn: &mut DbConnection,
    id: ProviderId,
    changes: &ProviderChanges,
) -> QueryResult<Provider> {
    diesel::update(providers::table.find(id))
        .set(changes)
        .execute(conn)?;
    providers::table
        .find(id)
        .select(Provider::as_select())
        .get_result(conn)
}
