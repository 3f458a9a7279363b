//! The `text_messages` table: SMS jobs written in the transaction of the booking change that
//! causes them, claimed by a worker under a lease, finished conditionally on the claim (as mail's
//! outbox).

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::schema::text_messages;
use super::{write_transaction, DbConnection};
use crate::domain::ids::BookingId;

/// What a text says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    Confirmation,
    Reminder,
    Change,
    Cancellation,
}

impl TextKind {
    pub const ALL: [TextKind; 4] = [
        Self::Confirmation,
        Self::Reminder,
        Self::Change,
        Self::Cancellation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirmation => "confirmation",
            Self::Reminder => "reminder",
            Self::Change => "change",
            Self::Cancellation => "cancellation",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == value)
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = text_messages)]
pub struct TextJob {
    pub id: i32,
    pub booking_id: BookingId,
    pub kind: String,
    /// E.164. Patient data: never logged.
    pub to_number: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    pub provider_message_id: Option<String>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
}

pub(crate) fn enqueue(
    conn: &mut DbConnection,
    booking: BookingId,
    kind: TextKind,
    to: &str,
    due_at: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(text_messages::table)
        .values((
            text_messages::booking_id.eq(booking),
            text_messages::kind.eq(kind.as_str()),
            text_messages::to_number.eq(to),
            text_messages::status.eq("pending"),
            text_messages::next_attempt_at.eq(due_at),
            text_messages::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Drops a booking's reminder text that has not gone out (the visit moved or was cancelled).
pub(crate) fn drop_pending_reminders(
    conn: &mut DbConnection,
    booking: BookingId,
) -> QueryResult<()> {
    diesel::delete(
        text_messages::table
            .filter(text_messages::booking_id.eq(booking))
            .filter(text_messages::kind.eq(TextKind::Reminder.as_str()))
            .filter(text_messages::status.eq("pending")),
    )
    .execute(conn)?;
    Ok(())
}

/// Claims up to `limit` due texts for `lease` under `token`, counting an attempt each.
pub(crate) fn claim_due(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    lease: Duration,
    limit: i64,
    token: &str,
) -> QueryResult<Vec<TextJob>> {
    write_transaction(conn, |conn| {
        let due = text_messages::table
            .filter(text_messages::status.eq("pending"))
            .filter(text_messages::next_attempt_at.le(now))
            .filter(
                text_messages::locked_until
                    .is_null()
                    .or(text_messages::locked_until.lt(now)),
            )
            .order(text_messages::id.asc())
            .limit(limit)
            .select(text_messages::id);
        let ids: Vec<i32> = match conn {
            DbConnection::Postgres(pg) => due.for_update().skip_locked().load(pg)?,
            DbConnection::Sqlite(sqlite) => due.load(sqlite)?,
        };
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        diesel::update(text_messages::table.filter(text_messages::id.eq_any(&ids)))
            .set((
                text_messages::locked_until.eq(now + lease),
                text_messages::claim_token.eq(token),
                text_messages::attempts.eq(text_messages::attempts + 1),
            ))
            .execute(conn)?;
        text_messages::table
            .filter(text_messages::id.eq_any(&ids))
            .order(text_messages::id.asc())
            .select(TextJob::as_select())
            .load(conn)
    })
}

/// What became of a claimed text.
pub(crate) enum TextOutcome<'a> {
    /// Accepted by the provider, with its id for the message.
    Sent(Option<&'a str>),
    /// No longer applies (a reminder for a cancelled visit): not sent, and recorded so.
    Skipped,
    /// Not sent: tried again at the time given, or (none) parked as failed.
    NotSent(&'a str, Option<NaiveDateTime>),
}

/// Records a claimed text's outcome; false if the claim was lost meanwhile (another worker
/// holds it now).
pub(crate) fn finish(
    conn: &mut DbConnection,
    id: i32,
    token: &str,
    outcome: TextOutcome<'_>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let claimed = text_messages::table
        .filter(text_messages::id.eq(id))
        .filter(text_messages::claim_token.eq(token))
        .filter(text_messages::status.eq("pending"));
    let unlocked = text_messages::locked_until.eq(None::<NaiveDateTime>);
    let updated = match outcome {
        TextOutcome::Sent(provider_id) => diesel::update(claimed)
            .set((
                text_messages::status.eq("sent"),
                text_messages::sent_at.eq(Some(now)),
                text_messages::provider_message_id.eq(provider_id),
                unlocked,
            ))
            .execute(conn)?,
        TextOutcome::Skipped => diesel::update(claimed)
            .set((text_messages::status.eq("skipped"), unlocked))
            .execute(conn)?,
        TextOutcome::NotSent(error, retry_at) => diesel::update(claimed)
            .set((
                text_messages::status.eq(if retry_at.is_some() {
                    "pending"
                } else {
                    "failed"
                }),
                text_messages::next_attempt_at.eq(retry_at.unwrap_or(now)),
                text_messages::last_error.eq(Some(error)),
                unlocked,
            ))
            .execute(conn)?,
    };
    Ok(updated == 1)
}

/// A booking's texts, oldest first (for tests and the admin's eye).
pub fn for_booking(conn: &mut DbConnection, booking: BookingId) -> QueryResult<Vec<TextJob>> {
    text_messages::table
        .filter(text_messages::booking_id.eq(booking))
        .order(text_messages::id.asc())
        .select(TextJob::as_select())
        .load(conn)
}

/// How many texts there are, of any kind and state.
pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
    text_messages::table.count().get_result(conn)
}
