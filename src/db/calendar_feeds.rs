//! The `calendar_feeds` table: one subscription token (its SHA-256) per provider.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::calendar_feeds;
use super::DbConnection;
use crate::domain::ids::ProviderId;

/// Sets the provider's token digest, replacing the one before (which stops working at once).
pub(crate) fn replace(
    conn: &mut DbConnection,
    provider: ProviderId,
    digest: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::delete(calendar_feeds::table.find(provider)).execute(conn)?;
    diesel::insert_into(calendar_feeds::table)
        .values((
            calendar_feeds::provider_id.eq(provider),
            calendar_feeds::token_sha256.eq(digest),
            calendar_feeds::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub(crate) fn remove(conn: &mut DbConnection, provider: ProviderId) -> QueryResult<bool> {
    Ok(diesel::delete(calendar_feeds::table.find(provider)).execute(conn)? == 1)
}

/// The provider whose token has this digest.
pub(crate) fn provider_with(
    conn: &mut DbConnection,
    digest: &str,
) -> QueryResult<Option<ProviderId>> {
    calendar_feeds::table
        .filter(calendar_feeds::token_sha256.eq(digest))
        .select(calendar_feeds::provider_id)
        .get_result(conn)
        .optional()
}

/// When the provider's current token was made, if it has one.
pub(crate) fn made_at(
    conn: &mut DbConnection,
    provider: ProviderId,
) -> QueryResult<Option<NaiveDateTime>> {
    calendar_feeds::table
        .find(provider)
        .select(calendar_feeds::created_at)
        .get_result(conn)
        .optional()
}
