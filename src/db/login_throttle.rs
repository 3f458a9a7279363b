//! The `login_throttle` table: login attempts per typed address within a window, forgotten on
//! success (so what remains are failures and attempts still being checked).
//!
//! Why a table and not a column on `users`: keyed by the address typed, unknown addresses are
//! throttled exactly like real ones, so the 429 does not reveal which addresses have accounts;
//! and being in the database, every copy of the app sees the same counts. Rows whose window has
//! passed are deleted as failures come in, so the table stays small.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::schema::login_throttle;
use super::{is_unique_violation, DbConnection};

/// Counts one login attempt for `email` (in the current window, or as the first of a new one)
/// and returns the attempts counted in the window and when the window started. Counting before
/// the password is checked, in one atomic update, means concurrent guesses cannot all slip in
/// under the limit; a successful login then `clear`s the count. Call inside a write transaction.
pub(crate) fn count_attempt(
    conn: &mut DbConnection,
    email: &str,
    window: Duration,
    now: NaiveDateTime,
) -> QueryResult<(i32, NaiveDateTime)> {
    let cutoff = now - window;
    diesel::delete(login_throttle::table.filter(login_throttle::window_started_at.le(cutoff)))
        .execute(conn)?;
    let increment = |conn: &mut DbConnection| {
        diesel::update(login_throttle::table.find(email))
            .set(login_throttle::failures.eq(login_throttle::failures + 1))
            .execute(conn)
    };
    if increment(conn)? == 0 {
        // A savepoint, so that losing an insert race to another copy leaves the transaction
        // usable; the loser then counts on the winner's row.
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
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                increment(conn)?;
            }
            Err(e) => return Err(e),
        }
    }
    login_throttle::table
        .find(email)
        .select((login_throttle::failures, login_throttle::window_started_at))
        .get_result(conn)
}

/// Forgets the failures of `email` (after a successful login).
pub fn clear(conn: &mut DbConnection, email: &str) -> QueryResult<()> {
    diesel::delete(login_throttle::table.find(email)).execute(conn)?;
    Ok(())
}
