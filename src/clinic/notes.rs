//! Staff notes about a patient ("needs an interpreter") or one visit ("running 10 minutes
//! late"). They show on the day sheet and the patient's page, never in anything sent to the
//! patient, never in the log; the audit records who wrote, changed or deleted which note, not
//! what it said (a note may hold health details an erasure must be able to remove).

use chrono::NaiveDateTime;
use serde_json::json;

use super::audit::{self, Entity};
use super::ClinicError;
use crate::db::audit::AuditAction;
use crate::db::bookings;
use crate::db::notes::{self as stored, NewNote, NoteView};
use crate::db::patients;
use crate::db::DbConnection;
use crate::domain::actor::Actor;
use crate::domain::ids::{NoteId, PatientId};

pub const MAX_NOTE_CHARS: usize = 500;

/// A note's text: trimmed, 1 to 500 characters, no control characters but line breaks.
fn body(text: &str) -> Result<String, ClinicError> {
    let body = crate::domain::clean_text(text, MAX_NOTE_CHARS, "a note")
        .map_err(|m| ClinicError::invalid("body", m))?;
    if body.is_empty() {
        return Err(ClinicError::invalid("body", "a note must not be empty"));
    }
    Ok(body)
}

/// A patient notes can be written about: not erased (nothing new is kept about them), not
/// merged (their notes live on the record they joined).
fn current(conn: &mut DbConnection, id: PatientId) -> Result<(), ClinicError> {
    let record = patients::find(conn, id)?.ok_or(ClinicError::NotFound("patient"))?;
    if record.erased_at.is_some() || record.merged_into.is_some() {
        return Err(ClinicError::NotFound("patient"));
    }
    Ok(())
}

/// What a note is about.
pub enum About<'a> {
    Patient(PatientId),
    /// A visit, by reference.
    Booking(&'a str),
}

pub fn add(
    conn: &mut DbConnection,
    actor: &Actor,
    about: About<'_>,
    text: &str,
    now: NaiveDateTime,
) -> Result<NoteView, ClinicError> {
    let body = body(text)?;
    let (patient_id, booking) = match about {
        About::Patient(id) => {
            current(conn, id)?;
            (id, None)
        }
        About::Booking(reference) => {
            let booking = bookings::find_by_reference(conn, reference)?
                .ok_or(ClinicError::NotFound("booking"))?;
            let patient = booking
                .patient_id
                .ok_or(ClinicError::NotFound("booking's patient"))?;
            current(conn, patient)?;
            (patient, Some(booking))
        }
    };
    let note = NewNote {
        patient_id,
        booking_id: booking.as_ref().map(|b| b.id),
        body: &body,
        author_user_id: actor.user_id(),
        created_at: now,
        updated_at: now,
    }
    .insert(conn)?;
    audit::record(
        conn,
        actor,
        AuditAction::NoteCreate,
        Entity::Note(note.id),
        None,
        Some(json!({
            "patient_id": patient_id.get(),
            "booking": booking.as_ref().map(|b| b.reference.as_str()),
        })),
        now,
    )?;
    stored::view(conn, note.id)?.ok_or(ClinicError::NotFound("note"))
}

pub fn change(
    conn: &mut DbConnection,
    actor: &Actor,
    id: NoteId,
    text: &str,
    now: NaiveDateTime,
) -> Result<NoteView, ClinicError> {
    let body = body(text)?;
    let before = stored::find(conn, id)?.ok_or(ClinicError::NotFound("note"))?;
    current(conn, before.patient_id)?;
    if !stored::update_body(conn, id, &body, now)? {
        return Err(ClinicError::NotFound("note"));
    }
    audit::record(
        conn,
        actor,
        AuditAction::NoteUpdate,
        Entity::Note(id),
        Some(json!({"updated_at": before.updated_at.and_utc().to_rfc3339()})),
        Some(
            json!({"patient_id": before.patient_id.get(), "updated_at": now.and_utc().to_rfc3339()}),
        ),
        now,
    )?;
    stored::view(conn, id)?.ok_or(ClinicError::NotFound("note"))
}

pub fn delete(
    conn: &mut DbConnection,
    actor: &Actor,
    id: NoteId,
    now: NaiveDateTime,
) -> Result<(), ClinicError> {
    let before = stored::find(conn, id)?.ok_or(ClinicError::NotFound("note"))?;
    if !stored::delete(conn, id)? {
        return Err(ClinicError::NotFound("note"));
    }
    audit::record(
        conn,
        actor,
        AuditAction::NoteDelete,
        Entity::Note(id),
        Some(json!({"patient_id": before.patient_id.get()})),
        None,
        now,
    )
    .map_err(Into::into)
}
