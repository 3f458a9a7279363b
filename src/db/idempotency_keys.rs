//! The `idempotency_keys` table: the saved response of a request made with an `Idempotency-Key`,
//! so a retried request gets the same answer instead of a second booking.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::idempotency_keys;
use super::{is_unique_violation, DbConnection};

/// What a key holds when a request arrives with it.
#[derive(Debug, PartialEq, Eq)]
pub enum KeyState {
    /// The key is new and now reserved for this request (inside the caller's transaction).
    Reserved,
    /// The same request was answered before: replay this.
    Replay { status: u16, body: String },
    /// The key was used for a different request.
    Mismatch,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = idempotency_keys)]
struct SavedResponse {
    request_hash: String,
    response_status: i32,
    response_body: String,
}

/// Reserves `key` for a request with `request_hash`, or reports what it already holds. Runs in a
/// savepoint so a duplicate key leaves the caller's transaction usable; on PostgreSQL the insert
/// waits for a concurrent holder of the same key to commit, then sees its response.
pub(crate) fn reserve(
    conn: &mut DbConnection,
    key: &str,
    request_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<KeyState> {
    let inserted = conn.transaction(|conn| {
        diesel::insert_into(idempotency_keys::table)
            .values((
                idempotency_keys::idempotency_key.eq(key),
                idempotency_keys::request_hash.eq(request_hash),
                idempotency_keys::response_status.eq(0),
                idempotency_keys::response_body.eq(""),
                idempotency_keys::created_at.eq(now),
            ))
            .execute(conn)
    });
    match inserted {
        Ok(_) => return Ok(KeyState::Reserved),
        Err(e) if is_unique_violation(&e) => {}
        Err(e) => return Err(e),
    }
    let saved: SavedResponse = idempotency_keys::table
        .find(key)
        .select(SavedResponse::as_select())
        .get_result(conn)?;
    if saved.request_hash != request_hash {
        return Ok(KeyState::Mismatch);
    }
    Ok(KeyState::Replay {
        status: u16::try_from(saved.response_status).unwrap_or(200),
        body: saved.response_body,
    })
}

/// Stores the response for a reserved key (same transaction as the work it describes).
pub(crate) fn save(conn: &mut DbConnection, key: &str, status: u16, body: &str) -> QueryResult<()> {
    diesel::update(idempotency_keys::table.find(key))
        .set((
            idempotency_keys::response_status.eq(i32::from(status)),
            idempotency_keys::response_body.eq(body),
        ))
        .execute(conn)?;
    Ok(())
}

/// Forgets keys older than `before`.
pub(crate) fn purge_older_than(
    conn: &mut DbConnection,
    before: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(before)))
        .execute(conn)
}
