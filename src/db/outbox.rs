//! The `outbox` table: email jobs written in the same transaction as the booking change that
//! causes them, claimed by workers under a lease, and finished conditionally on the claim.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::schema::{bookings, outbox, waitlist_entries};
use super::{fixed, write_transaction, DbConnection};
use crate::domain::ids::{
    BookingId, MailJobId, WaitlistEntryId, WaitlistOfferId, WebhookEndpointId,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum MailKind {
    Confirmation,
    Change,
    Cancellation,
    Reminder,
    /// The link that proves a waitlist entry's address (the entry counts once it is opened).
    WaitlistVerify,
    /// The entry is on the list: what it asks for, and how to leave.
    WaitlistJoined,
    /// A freed time held for the entry, with the links that take or decline it.
    WaitlistOffer,
    /// The offer was taken: the booking's confirmation (with its calendar invitation).
    WaitlistAccepted,
    /// Nobody took the offer in time; the entry stays on the list.
    WaitlistExpired,
    /// To the admins: a webhook endpoint failed too long and was turned off.
    WebhookDisabled,
}

impl MailKind {
    pub const ALL: [MailKind; 10] = [
        Self::Confirmation,
        Self::Change,
        Self::Cancellation,
        Self::Reminder,
        Self::WaitlistVerify,
        Self::WaitlistJoined,
        Self::WaitlistOffer,
        Self::WaitlistAccepted,
        Self::WaitlistExpired,
        Self::WebhookDisabled,
    ];

    /// The kinds about a booking (the rest are about a waitlist entry, and its offer).
    pub const ABOUT_BOOKINGS: [MailKind; 5] = [
        Self::Confirmation,
        Self::Change,
        Self::Cancellation,
        Self::Reminder,
        Self::WaitlistAccepted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirmation => "confirmation",
            Self::Change => "change",
            Self::Cancellation => "cancellation",
            Self::Reminder => "reminder",
            Self::WaitlistVerify => "waitlist_verify",
            Self::WaitlistJoined => "waitlist_joined",
            Self::WaitlistOffer => "waitlist_offer",
            Self::WaitlistAccepted => "waitlist_accepted",
            Self::WaitlistExpired => "waitlist_expired",
            Self::WebhookDisabled => "webhook_disabled",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == value)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum JobStatus {
    Pending,
    Sent,
    Failed,
}

impl JobStatus {
    pub const ALL: [JobStatus; 3] = [Self::Pending, Self::Sent, Self::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Pending, Self::Sent, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == value)
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = outbox)]
pub struct OutboxJob {
    pub id: MailJobId,
    pub kind: MailKind,
    /// The booking the mail is about; empty for a waitlist entry's own mails.
    pub booking_id: Option<BookingId>,
    pub sequence: i32,
    pub status: JobStatus,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
    pub claim_token: Option<String>,
    pub sent_at: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    /// The waitlist entry (and offer) a waitlist mail is about.
    pub waitlist_entry_id: Option<WaitlistEntryId>,
    pub waitlist_offer_id: Option<WaitlistOfferId>,
    /// The webhook endpoint an admins' mail is about.
    pub webhook_endpoint_id: Option<WebhookEndpointId>,
}

/// Writes a waitlist mail about `entry` (and `offer`), due now; call it inside the transaction
/// of the change that causes it.
pub(crate) fn enqueue_waitlist(
    conn: &mut DbConnection,
    kind: MailKind,
    (entry, offer): (WaitlistEntryId, Option<WaitlistOfferId>),
    booking: Option<BookingId>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(outbox::table)
        .values((
            outbox::kind.eq(kind.as_str()),
            outbox::booking_id.eq(booking),
            outbox::waitlist_entry_id.eq(entry),
            outbox::waitlist_offer_id.eq(offer),
            outbox::sequence.eq(0),
            outbox::status.eq(JobStatus::Pending.as_str()),
            outbox::next_attempt_at.eq(now),
            outbox::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Whether the `kind` mail about waitlist offer `offer` went out.
pub(crate) fn was_sent(
    conn: &mut DbConnection,
    kind: MailKind,
    offer: WaitlistOfferId,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        outbox::table
            .filter(outbox::waitlist_offer_id.eq(offer))
            .filter(outbox::kind.eq(kind.as_str()))
            .filter(outbox::status.eq(fixed(JobStatus::Sent.as_str()))),
    ))
    .get_result(conn)
}

/// Writes a job; call it inside the transaction of the change that causes the mail.
pub(crate) fn enqueue(
    conn: &mut DbConnection,
    kind: MailKind,
    booking_id: BookingId,
    due_at: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let sequence = next_sequence(conn, kind, booking_id)?;
    diesel::insert_into(outbox::table)
        .values((
            outbox::kind.eq(kind.as_str()),
            outbox::booking_id.eq(booking_id),
            outbox::sequence.eq(sequence),
            outbox::status.eq(JobStatus::Pending.as_str()),
            outbox::next_attempt_at.eq(due_at),
            outbox::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Writes the admins' mail about a webhook endpoint turned off, due now.
pub(crate) fn enqueue_about_webhook(
    conn: &mut DbConnection,
    endpoint: WebhookEndpointId,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(outbox::table)
        .values((
            outbox::kind.eq(MailKind::WebhookDisabled.as_str()),
            outbox::webhook_endpoint_id.eq(Some(endpoint)),
            outbox::status.eq(JobStatus::Pending.as_str()),
            outbox::next_attempt_at.eq(now),
            outbox::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The iCalendar SEQUENCE a mail of `kind` carries: 0 for the first invitation, one more for
/// each change or cancellation before it, so calendars apply updates in order.
fn next_sequence(
    conn: &mut DbConnection,
    kind: MailKind,
    booking_id: BookingId,
) -> QueryResult<i32> {
    if !matches!(kind, MailKind::Change | MailKind::Cancellation) {
        return Ok(0);
    }
    let earlier: i64 = outbox::table
        .filter(outbox::booking_id.eq(booking_id))
        .filter(outbox::kind.eq_any([MailKind::Change.as_str(), MailKind::Cancellation.as_str()]))
        .count()
        .get_result(conn)?;
    Ok(i32::try_from(earlier + 1).unwrap_or(i32::MAX))
}

/// Drops a booking's reminder that has not gone out yet (the visit moved or was cancelled).
pub(crate) fn drop_pending_reminders(
    conn: &mut DbConnection,
    booking_id: BookingId,
) -> QueryResult<usize> {
    diesel::delete(
        outbox::table
            .filter(outbox::booking_id.eq(booking_id))
            .filter(outbox::kind.eq(MailKind::Reminder.as_str()))
            .filter(outbox::status.eq(fixed(JobStatus::Pending.as_str())))
            .filter(outbox::claim_token.is_null()),
    )
    .execute(conn)
}

/// The ids of due, unleased jobs, oldest first. A macro because PostgreSQL adds
/// `FOR UPDATE SKIP LOCKED`, which diesel offers on its own backend's query type only.
macro_rules! due_job_ids {
    ($now:expr, $limit:expr) => {
        outbox::table
            .filter(outbox::status.eq(fixed(JobStatus::Pending.as_str())))
            .filter(outbox::next_attempt_at.le($now))
            // Only kinds this version can send: a job of a kind a newer copy added (during a
            // rolling deploy) waits for that copy instead of failing every claim here.
            .filter(outbox::kind.eq_any(MailKind::ALL.map(MailKind::as_str)))
            .filter(
                outbox::locked_until
                    .is_null()
                    .or(outbox::locked_until.lt($now)),
            )
            .order((outbox::next_attempt_at.asc(), outbox::id.asc()))
            .limit($limit)
            .select(outbox::id)
    };
}

/// Claims up to `limit` due jobs for `lease`, marking them with `token` and counting the
/// attempt. On PostgreSQL rows another worker is claiming right now are skipped
/// (`FOR UPDATE SKIP LOCKED`); on SQLite the immediate transaction serializes claimers. A
/// claimer that dies leaves its lease to expire, and the job is claimed again.
pub fn claim_due(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    lease: Duration,
    limit: i64,
    token: &str,
) -> QueryResult<Vec<OutboxJob>> {
    write_transaction(conn, |conn| {
        let ids: Vec<MailJobId> = match conn {
            DbConnection::Postgres(pg) => due_job_ids!(now, limit)
                .for_update()
                .skip_locked()
                .load(pg)?,
            DbConnection::Sqlite(sqlite) => due_job_ids!(now, limit).load(sqlite)?,
        };
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        diesel::update(outbox::table.filter(outbox::id.eq_any(&ids)))
            .set((
                outbox::locked_until.eq(now + lease),
                outbox::claim_token.eq(token),
                outbox::attempts.eq(outbox::attempts + 1),
            ))
            .execute(conn)?;
        outbox::table
            .filter(outbox::id.eq_any(&ids))
            .order((outbox::next_attempt_at.asc(), outbox::id.asc()))
            .select(OutboxJob::as_select())
            .load(conn)
    })
}

/// Hands claimed jobs that were never tried back to the queue, as if never claimed (the
/// claim counted an attempt). Only this claim's jobs: one re-claimed since is left alone.
pub fn release(conn: &mut DbConnection, ids: &[MailJobId], token: &str) -> QueryResult<usize> {
    diesel::update(
        outbox::table
            .filter(outbox::id.eq_any(ids))
            .filter(outbox::claim_token.eq(token))
            .filter(outbox::status.eq(fixed(JobStatus::Pending.as_str()))),
    )
    .set((
        outbox::locked_until.eq(None::<NaiveDateTime>),
        outbox::claim_token.eq(None::<String>),
        outbox::attempts.eq(outbox::attempts - 1),
    ))
    .execute(conn)
}

/// Marks a claimed job sent; false if the claim was lost (lease expired and re-claimed).
pub(crate) fn mark_sent(
    conn: &mut DbConnection,
    id: MailJobId,
    token: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let updated = diesel::update(
        outbox::table
            .filter(outbox::id.eq(id))
            .filter(outbox::claim_token.eq(token)),
    )
    .set((
        outbox::status.eq(JobStatus::Sent.as_str()),
        outbox::sent_at.eq(now),
        outbox::locked_until.eq(None::<NaiveDateTime>),
        outbox::last_error.eq(None::<String>),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Records a failed attempt: retried at `retry_at`, or parked as failed when that is `None`.
pub(crate) fn mark_attempt_failed(
    conn: &mut DbConnection,
    id: MailJobId,
    token: &str,
    error: &str,
    retry_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let status = match retry_at {
        Some(_) => JobStatus::Pending,
        None => JobStatus::Failed,
    };
    let updated = diesel::update(
        outbox::table
            .filter(outbox::id.eq(id))
            .filter(outbox::claim_token.eq(token)),
    )
    .set((
        outbox::status.eq(status.as_str()),
        outbox::next_attempt_at.eq(retry_at.unwrap_or(now)),
        outbox::locked_until.eq(None::<NaiveDateTime>),
        outbox::claim_token.eq(None::<String>),
        outbox::last_error.eq(error),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// A job with the references of what it is about: its booking's, and its waitlist entry's.
pub type ListedJob = (OutboxJob, Option<String>, Option<String>);

/// Jobs for the staff view with the reference of what they are about (the booking's, else the
/// waitlist entry's), newest first.
pub fn list(
    conn: &mut DbConnection,
    status: Option<JobStatus>,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<ListedJob>> {
    let mut query = outbox::table
        .left_join(bookings::table)
        .left_join(waitlist_entries::table)
        .select((
            OutboxJob::as_select(),
            bookings::reference.nullable(),
            waitlist_entries::reference.nullable(),
        ))
        .order(outbox::id.desc())
        .limit(limit)
        .offset(offset)
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(outbox::status.eq(status.as_str()));
    }
    query.load(conn)
}

pub fn find(conn: &mut DbConnection, id: MailJobId) -> QueryResult<Option<OutboxJob>> {
    outbox::table
        .find(id)
        .select(OutboxJob::as_select())
        .get_result(conn)
        .optional()
}

/// Puts a failed job back in the queue, due now, with a fresh attempt budget.
pub(crate) fn retry_failed(
    conn: &mut DbConnection,
    id: MailJobId,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let updated = diesel::update(
        outbox::table
            .filter(outbox::id.eq(id))
            .filter(outbox::status.eq(fixed(JobStatus::Failed.as_str()))),
    )
    .set((
        outbox::status.eq(JobStatus::Pending.as_str()),
        outbox::attempts.eq(0),
        outbox::next_attempt_at.eq(now),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// How many jobs are due and unsent at `now`, and since when the longest-waiting one has been
/// due. Reminders for later visits are pending but not due, so they do not count: a growing
/// age means mail is stuck, not that visits are booked ahead.
pub(crate) fn due_summary(
    conn: &mut DbConnection,
    now: NaiveDateTime,
) -> QueryResult<(i64, Option<NaiveDateTime>)> {
    outbox::table
        .filter(outbox::status.eq(fixed(JobStatus::Pending.as_str())))
        .filter(outbox::next_attempt_at.le(now))
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::min(outbox::next_attempt_at),
        ))
        .get_result(conn)
}

/// Keeps a claimed job's lease alive just before it is sent; false when the claim was lost
/// (the lease ran out and another worker took the job), in which case this worker must not
/// send it.
pub(crate) fn renew_lease(
    conn: &mut DbConnection,
    id: MailJobId,
    token: &str,
    until: NaiveDateTime,
) -> QueryResult<bool> {
    let updated = diesel::update(
        outbox::table
            .filter(outbox::id.eq(id))
            .filter(outbox::claim_token.eq(token))
            .filter(outbox::status.eq(fixed(JobStatus::Pending.as_str()))),
    )
    .set(outbox::locked_until.eq(until))
    .execute(conn)?;
    Ok(updated == 1)
}

/// How many jobs are parked as failed.
pub(crate) fn count_failed(conn: &mut DbConnection) -> QueryResult<i64> {
    outbox::table
        .filter(outbox::status.eq(fixed(JobStatus::Failed.as_str())))
        .count()
        .get_result(conn)
}
