//! The `login_throttle` table: failed logins per typed address within a window.
//!
//! Why a table and not a column on `users`: keyed by the address typed, unknown addresses are
//! throttled exactly like real ones, so the 429 does not reveal which addresses have accounts;
//! and being in the database, every copy of the app sees the same counts. Rows whose window has
//! passed are deleted as failures come in, so the table stays small.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::schema::login_throttle;
use super::{is_unique_violation, DbConnection};

/// How long `email` must still wait, if it has had `max_failures` failures in the current window.
pub fn blocked_for(
    conn: &mut DbConnection,
    email: &str,
    max_failures: i32,
    window: Duration,
    now: NaiveDateTime,
) -> QueryResult<Option<Duration>> {
    let row: Option<(i32, NaiveDateTime)> = login_throttle::table
        .find(email)
        .select((login_throttle::failures, login_throttle::window_started_at))
        .first(conn)
        .optional()?;
    Ok(row.and_then(|(failures, started)| {
        let ends = started + window;
        (failures >= max_failures && ends > now).then(|| ends - now)
    }))
}

/// Counts one failure: in the current window, or as the first of a new one. Call inside a write
/// transaction.
pub fn record_failure(
    conn: &mut DbConnection,
    email: &str,
    window: Duration,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let cutoff = now - window;
    diesel::delete(login_throttle::table.filter(login_throttle::window_started_at.le(cutoff)))
        .execute(conn)?;
    let counted = diesel::update(login_throttle::table.find(email))
        .set(login_throttle::failures.eq(login_throttle::failures + 1))
        .execute(conn)?;
    if counted == 1 {
        return Ok(());
    }
    // A savepoint, so that losing an insert race to another copy leaves the transaction usable.
    let inserted = conn.transaction(|conn| {
        diesel::insert_into(login_throttle::table)
            .values((
                login_throttle::email.eq(email),
                login_throttle::failures.eq(1),
                login_throttle::window_started_at.eq(now),
            ))
            .execute(conn)
    });
    match inserted {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => diesel::update(login_throttle::table.find(email))
            .set(login_throttle::failures.eq(login_throttle::failures + 1))
            .execute(conn)
            .map(|_| ()),
        Err(e) => Err(e),
    }
}

/// Forgets the failures of `email` (after a successful login).
pub fn clear(conn: &mut DbConnection, email: &str) -> QueryResult<()> {
    diesel::delete(login_throttle::table.find(email)).execute(conn)?;
    Ok(())
}
