//! The `bookings` table. Status changes are conditional updates (`WHERE status = expected`), so
//! two concurrent changes of one booking cannot both succeed.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::providers::Provider;
use super::schema::{booking_slots, bookings, providers, slots};
use super::slots::AtLocation;
use super::slots::Slot;
use super::DbConnection;
use crate::domain::booking::{BookingSource, BookingStatus};
use crate::domain::ids::{BookingId, PatientId, ProviderId, SeriesId, SlotId, VisitTypeId};
use crate::domain::language::Language;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = bookings)]
pub struct Booking {
    pub id: BookingId,
    pub reference: String,
    pub slot_id: SlotId,
    pub patient_name: String,
    pub patient_email: String,
    pub patient_phone: Option<String>,
    pub patient_date_of_birth: Option<NaiveDate>,
    pub reason: Option<String>,
    pub source: BookingSource,
    pub status: BookingStatus,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub concern_area: Option<String>,
    pub concern_onset: Option<String>,
    pub red_flags: Option<String>,
    pub needs_review: bool,
    pub visit_type_id: Option<VisitTypeId>,
    /// Where the visit ends; none only for rows from before visit types (the slot's end).
    pub ends_at: Option<NaiveDateTime>,
    /// The course of care it belongs to, if any.
    pub series_id: Option<SeriesId>,
    /// Why the clinic cancelled it, for the patient's cancellation mail. Never logged.
    pub cancel_reason: Option<String>,
    /// The patient agreed to text messages about it (at `patient_phone`).
    pub sms_consent: bool,
    /// The patient's record (matched or made when it was booked).
    pub patient_id: Option<PatientId>,
    /// When it was cancelled (late cancellations are counted from it).
    pub cancelled_at: Option<NaiveDateTime>,
    /// The language its mails and texts are written in.
    pub language: Language,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = bookings)]
pub struct NewBooking<'a> {
    pub reference: &'a str,
    pub slot_id: SlotId,
    pub patient_name: &'a str,
    pub patient_email: &'a str,
    pub patient_phone: Option<&'a str>,
    pub patient_date_of_birth: Option<NaiveDate>,
    pub reason: Option<&'a str>,
    pub source: &'a BookingSource,
    pub status: BookingStatus,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub concern_area: Option<&'a str>,
    pub concern_onset: Option<&'a str>,
    pub red_flags: Option<String>,
    pub needs_review: bool,
    pub visit_type_id: Option<VisitTypeId>,
    pub ends_at: Option<NaiveDateTime>,
    pub series_id: Option<SeriesId>,
    pub sms_consent: bool,
    pub patient_id: Option<PatientId>,
    pub language: Language,
}

impl NewBooking<'_> {
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<Booking> {
        diesel::insert_into(bookings::table)
            .values(self)
            .get_result::<Booking>(conn)
    }
}

pub(crate) fn find_by_reference(
    conn: &mut DbConnection,
    reference: &str,
) -> QueryResult<Option<Booking>> {
    bookings::table
        .filter(bookings::reference.eq(reference))
        .select(Booking::as_select())
        .get_result(conn)
        .optional()
}

/// Moves a booking from `from` to `to`; false if it changed meanwhile: another status, or moved
/// off `slot_id` by a concurrent reschedule (whose slot the caller is about to free).
pub fn transition(
    conn: &mut DbConnection,
    id: BookingId,
    slot_id: SlotId,
    from: BookingStatus,
    to: BookingStatus,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let updated = diesel::update(
        bookings::table
            .filter(bookings::id.eq(id))
            .filter(bookings::slot_id.eq(slot_id))
            .filter(bookings::status.eq(from.as_str())),
    )
    .set((
        bookings::status.eq(to.as_str()),
        bookings::updated_at.eq(now),
    ))
    .execute(conn)?;
    if updated == 1 && to == BookingStatus::Cancelled {
        diesel::update(bookings::table.find(id))
            .set(bookings::cancelled_at.eq(now))
            .execute(conn)?;
    }
    Ok(updated == 1)
}

/// Points a `booked` booking at another slot; false if it changed meanwhile.
pub(crate) fn move_to_slot(
    conn: &mut DbConnection,
    id: BookingId,
    old_slot_id: SlotId,
    new_slot_id: SlotId,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let updated = diesel::update(
        bookings::table
            .filter(bookings::id.eq(id))
            .filter(bookings::slot_id.eq(old_slot_id))
            .filter(bookings::status.eq(BookingStatus::Booked.as_str())),
    )
    .set((
        bookings::slot_id.eq(new_slot_id),
        bookings::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Records why the clinic cancelled a booking (the cancellation mail tells the patient).
pub(crate) fn set_cancel_reason(
    conn: &mut DbConnection,
    id: BookingId,
    reason: &str,
) -> QueryResult<()> {
    diesel::update(bookings::table.find(id))
        .set(bookings::cancel_reason.eq(reason))
        .execute(conn)?;
    Ok(())
}

/// The `booked` bookings holding any of these slots, as (reference, start of the visit), by
/// start. Visits already arrived, completed or missed are history and not listed.
pub(crate) fn booked_holding(
    conn: &mut DbConnection,
    held: &[SlotId],
) -> QueryResult<Vec<(String, NaiveDateTime)>> {
    let mut ids: Vec<BookingId> = Vec::new();
    for chunk in held.chunks(1000) {
        ids.extend(
            booking_slots::table
                .filter(booking_slots::slot_id.eq_any(chunk))
                .select(booking_slots::booking_id)
                .load::<BookingId>(conn)?,
        );
    }
    ids.sort_unstable();
    ids.dedup();
    let mut found = Vec::new();
    for chunk in ids.chunks(1000) {
        found.extend(
            bookings::table
                .inner_join(slots::table)
                .filter(bookings::id.eq_any(chunk))
                .filter(bookings::status.eq(BookingStatus::Booked.as_str()))
                .select((bookings::reference, slots::starts_at))
                .load::<(String, NaiveDateTime)>(conn)?,
        );
    }
    found.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
    Ok(found)
}

/// Records where a moved visit now ends.
pub(crate) fn set_visit_end(
    conn: &mut DbConnection,
    id: BookingId,
    ends_at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(bookings::table.find(id))
        .set(bookings::ends_at.eq(ends_at))
        .execute(conn)?;
    Ok(())
}

/// Whether this address has been to the clinic: a booking of it arrived or completed.
pub(crate) fn has_visited(conn: &mut DbConnection, email: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        bookings::table
            .filter(lower(bookings::patient_email).eq(lower(email)))
            .filter(bookings::status.eq_any([
                BookingStatus::Arrived.as_str(),
                BookingStatus::Completed.as_str(),
            ])),
    ))
    .get_result(conn)
}

diesel::define_sql_function! {
    /// SQL's `lower`: ASCII case on SQLite, Unicode case on PostgreSQL. Both sides of a comparison
    /// go through the same function, so each backend agrees with itself.
    fn lower(text: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// How many booked visits that have not started yet hold `email`, compared without case (the
/// index `bookings_by_lower_patient_email` serves it): `Ana@Example.com` and `ana@example.com` are
/// one patient's address, whatever case the form was typed in.
pub(crate) fn count_upcoming_for_email(
    conn: &mut DbConnection,
    email: &str,
    besides: Option<SeriesId>,
    now: NaiveDateTime,
) -> QueryResult<i64> {
    // A course of care counts once, however many visits it has; the course being booked (its
    // visits go in one by one) not at all.
    let upcoming = || {
        bookings::table
            .inner_join(slots::table)
            .filter(lower(bookings::patient_email).eq(lower(email)))
            .filter(bookings::status.eq(BookingStatus::Booked.as_str()))
            .filter(slots::starts_at.gt(now))
    };
    let single: i64 = upcoming()
        .filter(bookings::series_id.is_null())
        .count()
        .get_result(conn)?;
    let mut courses: Vec<Option<SeriesId>> = upcoming()
        .filter(bookings::series_id.is_not_null())
        .select(bookings::series_id)
        .distinct()
        .load(conn)?;
    courses.retain(|c| c.is_some() && *c != besides);
    Ok(single + courses.len() as i64)
}

/// Makes bookings for one address wait for each other until the caller's transaction ends, so
/// that two at once cannot both see room under the limit. SQLite's writes are one at a time
/// already; PostgreSQL takes a transaction-scoped advisory lock on the address (the two-key
/// form, whose first key keeps these locks apart from any other use of advisory locks).
pub(crate) fn lock_patient_email(conn: &mut DbConnection, email: &str) -> QueryResult<()> {
    /// The first key of these locks: "BKEM".
    const EMAIL_LOCKS: i32 = 0x424b_454d;
    match conn {
        DbConnection::Sqlite(_) => Ok(()),
        DbConnection::Postgres(pg) => {
            let key = email_lock_key(email);
            diesel::sql_query("SELECT pg_advisory_xact_lock($1, $2)")
                .bind::<diesel::sql_types::Integer, _>(EMAIL_LOCKS)
                .bind::<diesel::sql_types::Integer, _>(key)
                .execute(pg)
                .map(|_| ())
        }
    }
}

/// A stable 32-bit key for an address, whatever its case (FNV-1a over its lowercase form; two
/// addresses that share a key merely wait for each other).
fn email_lock_key(email: &str) -> i32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in email.to_lowercase().bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    i32::from_ne_bytes(hash.to_ne_bytes())
}

pub(crate) fn find_by_id(conn: &mut DbConnection, id: BookingId) -> QueryResult<Option<Booking>> {
    bookings::table
        .find(id)
        .select(Booking::as_select())
        .get_result(conn)
        .optional()
}

/// Which bookings a listing wants: each field left at its default filters nothing.
#[derive(Debug, Clone, Default)]
pub(crate) struct BookingFilter {
    /// Visits starting at or after this instant.
    pub from: Option<NaiveDateTime>,
    /// Visits starting before this instant.
    pub until: Option<NaiveDateTime>,
    pub provider_id: Option<ProviderId>,
    pub place: Option<AtLocation>,
    /// Any of these statuses (empty: any status).
    pub statuses: Vec<BookingStatus>,
    /// The patient's address, compared without case.
    pub email: Option<String>,
    pub reference: Option<String>,
    pub patient_id: Option<PatientId>,
    /// At most this many, after skipping `offset`.
    pub limit: Option<i64>,
    pub offset: i64,
}

/// The bookings `filter` names, with slot and provider, ordered by start, then provider, then
/// when they were made: the day sheet, and FHIR's `Appointment` search.
pub(crate) fn search(
    conn: &mut DbConnection,
    filter: &BookingFilter,
) -> QueryResult<Vec<(Booking, Slot, Provider)>> {
    let mut query = bookings::table
        .inner_join(slots::table.inner_join(providers::table))
        .select((
            Booking::as_select(),
            Slot::as_select(),
            Provider::as_select(),
        ))
        .order((
            slots::starts_at.asc(),
            slots::provider_id.asc(),
            bookings::id.asc(),
        ))
        .into_boxed();
    if let Some(from) = filter.from {
        query = query.filter(slots::starts_at.ge(from));
    }
    if let Some(until) = filter.until {
        query = query.filter(slots::starts_at.lt(until));
    }
    if let Some(provider_id) = filter.provider_id {
        query = query.filter(slots::provider_id.eq(provider_id));
    }
    if !filter.statuses.is_empty() {
        let names: Vec<&str> = filter.statuses.iter().map(|s| s.as_str()).collect();
        query = query.filter(bookings::status.eq_any(names));
    }
    if let Some(email) = &filter.email {
        query = query.filter(lower(bookings::patient_email).eq(lower(email.clone())));
    }
    if let Some(reference) = &filter.reference {
        query = query.filter(bookings::reference.eq(reference.clone()));
    }
    if let Some(patient_id) = filter.patient_id {
        query = query.filter(bookings::patient_id.eq(patient_id));
    }
    if let Some(place) = filter.place {
        // Slots without a location are the main location's.
        query = if place.is_main {
            query.filter(
                slots::location_id
                    .eq(place.id)
                    .or(slots::location_id.is_null()),
            )
        } else {
            query.filter(slots::location_id.eq(place.id))
        };
    }
    if let Some(limit) = filter.limit {
        query = query.limit(limit).offset(filter.offset);
    }
    query.load(conn)
}

/// The patients whose details match, newest booking first, one per address (compared without
/// case): the id of the newest booking of each. `name` matches any part of the name, without
/// case (both sides through `lower`).
pub(crate) fn patients_matching(
    conn: &mut DbConnection,
    email: Option<&str>,
    name: Option<&str>,
    date_of_birth: Option<NaiveDate>,
) -> QueryResult<Vec<BookingId>> {
    let mut query = bookings::table
        .select((bookings::id, bookings::patient_email))
        .order(bookings::id.desc())
        .into_boxed();
    if let Some(email) = email {
        query = query.filter(lower(bookings::patient_email).eq(lower(email.to_owned())));
    }
    if let Some(name) = name {
        let escaped = name
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        query = query.filter(
            lower(bookings::patient_name)
                .like(lower(format!("%{escaped}%")))
                .escape('\\'),
        );
    }
    if let Some(date_of_birth) = date_of_birth {
        query = query.filter(bookings::patient_date_of_birth.eq(date_of_birth));
    }
    let rows: Vec<(BookingId, String)> = query.load(conn)?;
    let mut seen = std::collections::HashSet::new();
    Ok(rows
        .into_iter()
        .filter(|(_, email)| seen.insert(email.to_lowercase()))
        .map(|(id, _)| id)
        .collect())
}

/// Bookings made in `[from, to)`, counted by source and current status (for attribution).
pub(crate) fn count_by_source_and_status(
    conn: &mut DbConnection,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<(String, String, i64)>> {
    bookings::table
        .filter(bookings::created_at.ge(from))
        .filter(bookings::created_at.lt(to))
        .group_by((bookings::source, bookings::status))
        .select((
            bookings::source,
            bookings::status,
            diesel::dsl::count_star(),
        ))
        .load(conn)
}
