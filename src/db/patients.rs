//! The `patients` table and the words they are found by (`patient_search_terms`).

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::{bookings, patient_search_terms, patients, slots};
use super::DbConnection;
use crate::domain::booking::BookingStatus;
use crate::domain::ids::{BookingId, PatientId};
use crate::domain::search::{prefix_end, reference_prefix_last};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = patients)]
pub struct PatientRecord {
    pub id: PatientId,
    pub name: String,
    pub email: String,
    pub email_key: String,
    pub phone: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    /// Another patient this one may be, until staff merge them or say they are two people.
    pub duplicate_of: Option<PatientId>,
    /// Merged into that patient: its bookings and notes are there now.
    pub merged_into: Option<PatientId>,
    pub erased_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = patients)]
pub struct NewPatient<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub email_key: &'a str,
    pub phone: Option<&'a str>,
    pub date_of_birth: Option<NaiveDate>,
    pub duplicate_of: Option<PatientId>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl NewPatient<'_> {
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<PatientRecord> {
        diesel::insert_into(patients::table)
            .values(self)
            .get_result::<PatientRecord>(conn)
    }
}

/// How bookings find their patient: the address in lower case (ASCII, as SQLite's `lower`,
/// which wrote the first records from the bookings before them).
pub fn email_key(email: &str) -> String {
    email.trim().to_ascii_lowercase()
}

pub fn find(conn: &mut DbConnection, id: PatientId) -> QueryResult<Option<PatientRecord>> {
    patients::table
        .find(id)
        .select(PatientRecord::as_select())
        .get_result(conn)
        .optional()
}

pub fn find_many(conn: &mut DbConnection, ids: &[PatientId]) -> QueryResult<Vec<PatientRecord>> {
    patients::table
        .filter(patients::id.eq_any(ids))
        .select(PatientRecord::as_select())
        .load(conn)
}

/// The current (not merged, not erased) patients with this address, oldest first.
pub fn current_with_email(conn: &mut DbConnection, key: &str) -> QueryResult<Vec<PatientRecord>> {
    patients::table
        .filter(patients::email_key.eq(key))
        .filter(patients::merged_into.is_null())
        .filter(patients::erased_at.is_null())
        .order(patients::id.asc())
        .select(PatientRecord::as_select())
        .load(conn)
}

/// A patient's latest name, address (as typed) and phone, from their newest booking.
pub fn update_contact(
    conn: &mut DbConnection,
    id: PatientId,
    (name, email, phone): (&str, &str, Option<&str>),
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(patients::table.find(id))
        .filter(patients::merged_into.is_null())
        .filter(patients::erased_at.is_null())
        .set((
            patients::name.eq(name),
            patients::email.eq(email),
            patients::phone.eq(phone),
            patients::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Replaces the words a patient is found by.
pub fn set_terms(conn: &mut DbConnection, id: PatientId, terms: &[String]) -> QueryResult<()> {
    diesel::delete(patient_search_terms::table.filter(patient_search_terms::patient_id.eq(id)))
        .execute(conn)?;
    add_terms(conn, id, terms)
}

/// Adds words (another copy adding the same ones at the same moment is no error).
pub fn add_terms(conn: &mut DbConnection, id: PatientId, terms: &[String]) -> QueryResult<()> {
    let rows: Vec<_> = terms
        .iter()
        .map(|term| {
            (
                patient_search_terms::term.eq(term),
                patient_search_terms::patient_id.eq(id),
            )
        })
        .collect();
    // `ON CONFLICT DO NOTHING` is each backend's own syntax in diesel, not the shared one's.
    match conn {
        DbConnection::Sqlite(c) => diesel::insert_or_ignore_into(patient_search_terms::table)
            .values(&rows)
            .execute(c)
            .map(|_| ()),
        DbConnection::Postgres(c) => diesel::insert_into(patient_search_terms::table)
            .values(&rows)
            .on_conflict_do_nothing()
            .execute(c)
            .map(|_| ()),
    }
}

/// Current patients no word finds yet (those the migration made from earlier bookings), a
/// batch at a time.
pub fn unindexed(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<PatientRecord>> {
    let indexed = patient_search_terms::table
        .filter(patient_search_terms::patient_id.eq(patients::id))
        .select(patient_search_terms::patient_id);
    patients::table
        .filter(patients::merged_into.is_null())
        .filter(patients::erased_at.is_null())
        .filter(diesel::dsl::not(diesel::dsl::exists(indexed)))
        .order(patients::id.asc())
        .limit(limit)
        .select(PatientRecord::as_select())
        .load(conn)
}

/// Current patients with a word starting with each of `words` (folded; the first, the longest,
/// narrows most), by name, at most `limit`.
pub fn with_words(
    conn: &mut DbConnection,
    words: &[String],
    limit: i64,
) -> QueryResult<Vec<PatientRecord>> {
    let Some((first, rest)) = words.split_first() else {
        return Ok(Vec::new());
    };
    let starting = |word: &String| {
        patient_search_terms::table
            .filter(patient_search_terms::term.ge(word.clone()))
            .filter(patient_search_terms::term.lt(prefix_end(word)))
            .select(patient_search_terms::patient_id)
    };
    // The first two words meet in the database (the second's patients among the first's); a
    // third or fourth keeps, of those, the ones it also starts a word of. Candidates are read
    // without DISTINCT (a patient has a word or two per prefix), so the index scan stops early.
    let cap = limit * 4;
    let mut candidates: Vec<PatientId> = match rest.first() {
        None => starting(first).limit(cap).load(conn)?,
        Some(second) => {
            let firsts = diesel::alias!(patient_search_terms as firsts);
            let (term, patient) = (
                firsts.field(patient_search_terms::term),
                firsts.field(patient_search_terms::patient_id),
            );
            let of_first = firsts
                .filter(term.ge(first.clone()))
                .filter(term.lt(prefix_end(first)))
                .select(patient);
            starting(second)
                .filter(patient_search_terms::patient_id.eq_any(of_first))
                .limit(cap)
                .load(conn)?
        }
    };
    let mut seen = HashSet::new();
    candidates.retain(|id| seen.insert(*id));
    for word in rest.iter().skip(1) {
        if candidates.is_empty() {
            break;
        }
        let keep: HashSet<PatientId> = starting(word)
            .filter(patient_search_terms::patient_id.eq_any(&candidates))
            .load::<PatientId>(conn)?
            .into_iter()
            .collect();
        candidates.retain(|id| keep.contains(id));
    }
    current_of(conn, &candidates, limit)
}

/// The patients of the bookings whose reference starts with `prefix`.
pub fn with_reference(
    conn: &mut DbConnection,
    prefix: &str,
    limit: i64,
) -> QueryResult<Vec<PatientRecord>> {
    let ids: Vec<Option<PatientId>> = bookings::table
        .filter(bookings::reference.ge(prefix))
        .filter(bookings::reference.le(reference_prefix_last(prefix)))
        .select(bookings::patient_id)
        .limit(limit * 4)
        .load(conn)?;
    let ids: Vec<PatientId> = ids.into_iter().flatten().collect();
    current_of(conn, &ids, limit)
}

/// Of `ids`, the current patients, by name, at most `limit`.
fn current_of(
    conn: &mut DbConnection,
    ids: &[PatientId],
    limit: i64,
) -> QueryResult<Vec<PatientRecord>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    patients::table
        .filter(patients::id.eq_any(ids))
        .filter(patients::merged_into.is_null())
        .filter(patients::erased_at.is_null())
        .order((patients::name.asc(), patients::id.asc()))
        .limit(limit)
        .select(PatientRecord::as_select())
        .load(conn)
}

/// Patients flagged as possibly another, oldest flag first.
pub fn flagged(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<PatientRecord>> {
    patients::table
        .filter(patients::duplicate_of.is_not_null())
        .filter(patients::merged_into.is_null())
        .filter(patients::erased_at.is_null())
        .order(patients::id.asc())
        .limit(limit)
        .select(PatientRecord::as_select())
        .load(conn)
}

/// Each patient's visits as (start, status), for the counts a listing shows.
pub fn visits_of(
    conn: &mut DbConnection,
    ids: &[PatientId],
) -> QueryResult<HashMap<PatientId, Vec<(NaiveDateTime, BookingStatus)>>> {
    let rows: Vec<(Option<PatientId>, NaiveDateTime, BookingStatus)> = bookings::table
        .inner_join(slots::table)
        .filter(bookings::patient_id.eq_any(ids))
        .select((bookings::patient_id, slots::starts_at, bookings::status))
        .load(conn)?;
    let mut visits: HashMap<PatientId, Vec<_>> = HashMap::new();
    for (patient, start, status) in rows {
        if let Some(patient) = patient {
            visits.entry(patient).or_default().push((start, status));
        }
    }
    Ok(visits)
}

/// Clears the flag: staff say these are two people.
pub fn clear_flag(conn: &mut DbConnection, id: PatientId, now: NaiveDateTime) -> QueryResult<bool> {
    let updated = diesel::update(patients::table.find(id))
        .filter(patients::duplicate_of.is_not_null())
        .set((
            patients::duplicate_of.eq(None::<PatientId>),
            patients::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(updated == 1)
}

/// Moves `from`'s bookings and notes to `into` and marks `from` merged (its row stays, so the
/// audit trail still names it). Flags pointing at `from` now point at `into`. Answers `None`
/// when either record stopped being current meanwhile: the two rows are claimed in id order by
/// conditional updates, so two merges of the same pair in opposite directions meet at the first
/// row and the second finds it merged, never a cycle.
pub fn merge(
    conn: &mut DbConnection,
    from: PatientId,
    into: PatientId,
    now: NaiveDateTime,
) -> QueryResult<Option<usize>> {
    use super::schema::notes;
    let current = |id: PatientId| {
        patients::table
            .filter(patients::id.eq(id))
            .filter(patients::merged_into.is_null())
            .filter(patients::erased_at.is_null())
    };
    for id in [from.min(into), from.max(into)] {
        let claimed = if id == from {
            diesel::update(current(from))
                .set((
                    patients::merged_into.eq(into),
                    patients::duplicate_of.eq(None::<PatientId>),
                    patients::updated_at.eq(now),
                ))
                .execute(conn)?
        } else {
            diesel::update(current(into))
                .set(patients::updated_at.eq(now))
                .execute(conn)?
        };
        if claimed != 1 {
            return Ok(None);
        }
    }
    let moved = diesel::update(bookings::table.filter(bookings::patient_id.eq(from)))
        .set(bookings::patient_id.eq(into))
        .execute(conn)?;
    diesel::update(notes::table.filter(notes::patient_id.eq(from)))
        .set(notes::patient_id.eq(into))
        .execute(conn)?;
    diesel::update(patients::table.filter(patients::duplicate_of.eq(from)))
        .set(patients::duplicate_of.eq(into))
        .execute(conn)?;
    // A record is not a duplicate of itself.
    diesel::update(patients::table.find(into))
        .filter(patients::duplicate_of.eq(into))
        .set(patients::duplicate_of.eq(None::<PatientId>))
        .execute(conn)?;
    // The merged record's words now find the record it joined (a search for its address or
    // old name leads there).
    let words: Vec<String> = patient_search_terms::table
        .filter(patient_search_terms::patient_id.eq(from))
        .select(patient_search_terms::term)
        .load(conn)?;
    diesel::delete(patient_search_terms::table.filter(patient_search_terms::patient_id.eq(from)))
        .execute(conn)?;
    add_terms(conn, into, &words)?;
    Ok(Some(moved))
}

/// The current record a merged one leads to (following merges), if any.
pub fn current_of_merged(
    conn: &mut DbConnection,
    key: &str,
    date_of_birth: Option<NaiveDate>,
) -> QueryResult<Option<PatientRecord>> {
    let merged: Vec<PatientRecord> = patients::table
        .filter(patients::email_key.eq(key))
        .filter(patients::merged_into.is_not_null())
        .order(patients::id.desc())
        .select(PatientRecord::as_select())
        .load(conn)?;
    let Some(mut record) = merged
        .into_iter()
        .find(|p| date_of_birth.is_none() || p.date_of_birth == date_of_birth)
    else {
        return Ok(None);
    };
    for _ in 0..16 {
        match record.merged_into {
            Some(next) => match find(conn, next)? {
                Some(found) => record = found,
                None => return Ok(None),
            },
            None => break,
        }
    }
    Ok((record.merged_into.is_none() && record.erased_at.is_none()).then_some(record))
}

/// The bookings of a patient, by id.
pub fn booking_ids(conn: &mut DbConnection, id: PatientId) -> QueryResult<Vec<BookingId>> {
    bookings::table
        .filter(bookings::patient_id.eq(id))
        .order(bookings::id.asc())
        .select(bookings::id)
        .load(conn)
}

/// Current patients whose latest visit started before `before` and who have none after it
/// (nor any booking made after it): those a retention period erases, a batch at a time.
pub fn inactive_since(
    conn: &mut DbConnection,
    before: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<PatientId>> {
    let recent = bookings::table
        .inner_join(slots::table)
        .filter(bookings::patient_id.eq(patients::id.nullable()))
        .filter(
            slots::starts_at
                .ge(before)
                .or(bookings::created_at.ge(before)),
        )
        .select(bookings::id);
    patients::table
        .filter(patients::erased_at.is_null())
        .filter(patients::merged_into.is_null())
        .filter(patients::created_at.lt(before))
        .filter(diesel::dsl::not(diesel::dsl::exists(recent)))
        .order(patients::id.asc())
        .limit(limit)
        .select(patients::id)
        .load(conn)
}
