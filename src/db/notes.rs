//! The `notes` table: staff notes about a patient or one of their visits. Never sent to the
//! patient, never logged.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{bookings, notes, users};
use super::DbConnection;
use crate::domain::ids::{BookingId, NoteId, PatientId, UserId};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = notes)]
pub struct Note {
    pub id: NoteId,
    pub patient_id: PatientId,
    pub booking_id: Option<BookingId>,
    pub body: String,
    pub author_user_id: Option<UserId>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A note with what names it outside: its booking's reference and its author's address.
#[derive(Debug, Clone)]
pub struct NoteView {
    pub note: Note,
    pub booking_reference: Option<String>,
    pub author: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = notes)]
pub struct NewNote<'a> {
    pub patient_id: PatientId,
    pub booking_id: Option<BookingId>,
    pub body: &'a str,
    pub author_user_id: Option<UserId>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl NewNote<'_> {
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<Note> {
        diesel::insert_into(notes::table)
            .values(self)
            .get_result::<Note>(conn)
    }
}

pub fn find(conn: &mut DbConnection, id: NoteId) -> QueryResult<Option<Note>> {
    notes::table
        .find(id)
        .select(Note::as_select())
        .get_result(conn)
        .optional()
}

pub fn update_body(
    conn: &mut DbConnection,
    id: NoteId,
    body: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let updated = diesel::update(notes::table.find(id))
        .set((notes::body.eq(body), notes::updated_at.eq(now)))
        .execute(conn)?;
    Ok(updated == 1)
}

pub fn delete(conn: &mut DbConnection, id: NoteId) -> QueryResult<bool> {
    Ok(diesel::delete(notes::table.find(id)).execute(conn)? == 1)
}

/// The notes of these patients (about them or any of their visits), oldest first, named.
pub fn of_patients(conn: &mut DbConnection, ids: &[PatientId]) -> QueryResult<Vec<NoteView>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(Note, Option<String>, Option<String>)> = notes::table
        .left_join(bookings::table)
        .left_join(users::table)
        .filter(notes::patient_id.eq_any(ids))
        .order((notes::created_at.asc(), notes::id.asc()))
        .select((
            Note::as_select(),
            bookings::reference.nullable(),
            users::email.nullable(),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(note, booking_reference, author)| NoteView {
            note,
            booking_reference,
            author,
        })
        .collect())
}

/// One note, named.
pub fn view(conn: &mut DbConnection, id: NoteId) -> QueryResult<Option<NoteView>> {
    let row: Option<(Note, Option<String>, Option<String>)> = notes::table
        .left_join(bookings::table)
        .left_join(users::table)
        .filter(notes::id.eq(id))
        .select((
            Note::as_select(),
            bookings::reference.nullable(),
            users::email.nullable(),
        ))
        .get_result(conn)
        .optional()?;
    Ok(row.map(|(note, booking_reference, author)| NoteView {
        note,
        booking_reference,
        author,
    }))
}
