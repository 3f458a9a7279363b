//! The `users` table: staff accounts. The password column only ever holds an argon2 hash.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::users;
use super::DbConnection;
use crate::domain::ids::{ProviderId, UserId};
use crate::domain::staff::Role;

#[derive(Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub password_hash: String,
    pub role: Role,
    pub active: bool,
    pub created_at: NaiveDateTime,
    /// The provider a `provider` account belongs to, if it is linked to one.
    pub provider_id: Option<ProviderId>,
}

// By hand, so the hash never reaches a log through `{:?}`.
impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("role", &self.role)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    pub active: bool,
    pub created_at: NaiveDateTime,
}

impl NewUser<'_> {
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<User> {
        diesel::insert_into(users::table)
            .values(self)
            .get_result::<User>(conn)
    }
}

/// The account with this (lowercased) address.
pub(crate) fn find_by_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email.eq(email))
        .select(User::as_select())
        .get_result(conn)
        .optional()
}

/// Whether the account with this id exists and is active.
pub(crate) fn is_active(conn: &mut DbConnection, id: UserId) -> QueryResult<bool> {
    let active = users::table
        .find(id)
        .select(users::active)
        .get_result::<bool>(conn)
        .optional()?;
    Ok(active.unwrap_or(false))
}

/// The addresses of the active admins (who are told when something needs them).
pub(crate) fn active_admin_emails(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    users::table
        .filter(users::active.eq(true))
        .filter(users::role.eq(crate::domain::staff::Role::Admin.as_str()))
        .order(users::id.asc())
        .select(users::email)
        .load(conn)
}

/// Links a `provider` account to the provider it is (it then manages that provider's feed).
pub(crate) fn link_provider(
    conn: &mut DbConnection,
    id: UserId,
    provider: ProviderId,
) -> QueryResult<bool> {
    let updated = diesel::update(users::table.find(id))
        .set(users::provider_id.eq(Some(provider)))
        .execute(conn)?;
    Ok(updated == 1)
}

/// The provider an account belongs to, if any.
pub(crate) fn provider_of(conn: &mut DbConnection, id: UserId) -> QueryResult<Option<ProviderId>> {
    Ok(users::table
        .find(id)
        .select(users::provider_id)
        .get_result::<Option<ProviderId>>(conn)
        .optional()?
        .flatten())
}
