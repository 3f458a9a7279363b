//! Patients as records. Each booking names its patient: matched on booking by address and date
//! of birth (or the address alone when no date is given), else a new record. Two people are never
//! merged silently: a new record whose address another patient has is flagged for staff, who
//! merge the two (both histories go to one, the audit trail keeps both) or say they are two.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::Connection;
use serde_json::json;

use super::audit::{self, Entity};
use super::rules::{self, BookingPolicy};
use super::ClinicError;
use crate::db::audit::AuditAction;
use crate::db::bookings::{self, Booking, BookingFilter};
use crate::db::notes::{self, NoteView};
use crate::db::patients::{self as stored, NewPatient, PatientRecord};
use crate::db::providers::Provider;
use crate::db::slots::Slot;
use crate::db::visit_types::{self, VisitType};
use crate::db::{is_unique_violation, DbConnection};
use crate::domain::actor::Actor;
use crate::domain::booking::BookingStatus;
use crate::domain::ids::{PatientId, VisitTypeId};
use crate::domain::patient::Patient;
use crate::domain::search::{self, PatientQuery};

/// Who a booking for `patient` is for: their record, made now if there is none. Call in the
/// booking's transaction (on PostgreSQL the booking rules hold the address's lock by then; the
/// unique index on address and birth date settles any race left).
pub(crate) fn match_or_create(
    conn: &mut DbConnection,
    patient: &Patient,
    now: NaiveDateTime,
) -> Result<PatientId, ClinicError> {
    let key = stored::email_key(patient.email.as_str());
    let birth = patient.date_of_birth.map(|d| d.date());
    let known = stored::current_with_email(conn, &key)?;
    // An address staff merged into another record leads there.
    if known.is_empty() {
        if let Some(record) = stored::current_of_merged(conn, &key, birth)? {
            refresh(conn, &record, patient, now)?;
            return Ok(record.id);
        }
    }
    let duplicate_of = match choose(&known, birth, patient.name.as_str()) {
        Choice::Same(record) => {
            refresh(conn, record, patient, now)?;
            return Ok(record.id);
        }
        Choice::New { duplicate_of } => duplicate_of,
    };
    let new = NewPatient {
        name: patient.name.as_str(),
        email: patient.email.as_str(),
        email_key: &key,
        phone: patient.phone.as_ref().map(|p| p.as_str()),
        date_of_birth: birth,
        duplicate_of,
        created_at: now,
        updated_at: now,
    };
    // In a savepoint: a record another booking made meanwhile refuses this one (the unique index
    // on address and birth date), and then it is the one.
    match conn.transaction(|conn| new.insert(conn)) {
        Ok(record) => {
            stored::add_terms(conn, record.id, &terms_of(&record))?;
            Ok(record.id)
        }
        Err(e) if is_unique_violation(&e) => {
            // Made meanwhile by another booking, or already there under another name without a
            // birth date (one current record per address and date): that record it is.
            let known = stored::current_with_email(conn, &key)?;
            match known.iter().find(|p| p.date_of_birth == birth) {
                Some(record) => Ok(record.id),
                None => Err(e.into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

enum Choice<'a> {
    Same(&'a PatientRecord),
    New { duplicate_of: Option<PatientId> },
}

/// The matching rule. With a birth date: the record with this address and date. Without: the
/// record with this address that has no date, or else the only one, as long as its name is the
/// booking's (folded; a parent booking for a child from their own address, without a date, is
/// someone else). Anything else is a new record, flagged when the address is known (a parent
/// booking for a child, a typo in a date: staff decide).
fn choose<'a>(known: &'a [PatientRecord], birth: Option<NaiveDate>, name: &str) -> Choice<'a> {
    let same = match birth {
        Some(date) => known.iter().find(|p| p.date_of_birth == Some(date)),
        None => known
            .iter()
            .find(|p| p.date_of_birth.is_none())
            .or(if known.len() == 1 {
                known.first()
            } else {
                None
            })
            .filter(|p| search::fold(&p.name) == search::fold(name)),
    };
    match same {
        Some(record) => Choice::Same(record),
        None => Choice::New {
            duplicate_of: known.first().map(|p| p.id),
        },
    }
}

/// The newest booking's name and phone are the patient's now.
fn refresh(
    conn: &mut DbConnection,
    record: &PatientRecord,
    patient: &Patient,
    now: NaiveDateTime,
) -> Result<(), ClinicError> {
    let phone = patient
        .phone
        .as_ref()
        .map(|p| p.as_str())
        .or(record.phone.as_deref());
    let changed = record.name != patient.name.as_str()
        || record.email != patient.email.as_str()
        || record.phone.as_deref() != phone;
    if changed {
        let contact = (patient.name.as_str(), patient.email.as_str(), phone);
        stored::update_contact(conn, record.id, contact, now)?;
        let terms = search::terms(contact.0, contact.1, contact.2);
        stored::set_terms(conn, record.id, &terms)?;
    }
    Ok(())
}

fn terms_of(record: &PatientRecord) -> Vec<String> {
    search::terms(&record.name, &record.email, record.phone.as_deref())
}

/// Makes the search words of records that have none (those made by the migration from the
/// bookings before patients existed). Run at startup; answers how many it indexed.
pub fn index_unindexed(conn: &mut DbConnection) -> Result<usize, ClinicError> {
    let mut done = 0;
    loop {
        let batch = stored::unindexed(conn, 500)?;
        if batch.is_empty() {
            return Ok(done);
        }
        conn.transaction(|conn| {
            for record in &batch {
                stored::add_terms(conn, record.id, &terms_of(record))?;
            }
            Ok::<_, diesel::result::Error>(())
        })?;
        done += batch.len();
    }
}

/// A patient in a listing: the record and the counts staff look at first.
#[derive(Debug, Clone)]
pub struct PatientSummary {
    pub record: PatientRecord,
    pub visits: usize,
    pub last_visit: Option<NaiveDateTime>,
    pub next_visit: Option<NaiveDateTime>,
}

/// Patients `query` finds, by name, at most `limit`.
pub fn search(
    conn: &mut DbConnection,
    query: &PatientQuery,
    limit: i64,
    now: NaiveDateTime,
) -> Result<Vec<PatientSummary>, ClinicError> {
    let records = match query {
        PatientQuery::Reference(prefix) => stored::with_reference(conn, prefix, limit)?,
        PatientQuery::Words(words) => stored::with_words(conn, words, limit)?,
    };
    summarize(conn, records, now)
}

/// The patients flagged as possibly another, oldest first.
pub fn flagged(
    conn: &mut DbConnection,
    now: NaiveDateTime,
) -> Result<Vec<PatientSummary>, ClinicError> {
    let records = stored::flagged(conn, 200)?;
    summarize(conn, records, now)
}

fn summarize(
    conn: &mut DbConnection,
    records: Vec<PatientRecord>,
    now: NaiveDateTime,
) -> Result<Vec<PatientSummary>, ClinicError> {
    let ids: Vec<PatientId> = records.iter().map(|r| r.id).collect();
    let visits = stored::visits_of(conn, &ids)?;
    Ok(records
        .into_iter()
        .map(|record| {
            let list = visits.get(&record.id).map(Vec::as_slice).unwrap_or(&[]);
            let kept =
                |(_, status): &&(NaiveDateTime, BookingStatus)| *status != BookingStatus::Cancelled;
            PatientSummary {
                visits: list.iter().filter(kept).count(),
                last_visit: list
                    .iter()
                    .filter(kept)
                    .map(|v| v.0)
                    .filter(|s| *s <= now)
                    .max(),
                next_visit: list
                    .iter()
                    .filter(kept)
                    .map(|v| v.0)
                    .filter(|s| *s > now)
                    .min(),
                record,
            }
        })
        .collect())
}

/// What a patient's page shows: the record, every visit (newest first) and the notes.
#[derive(Debug)]
pub struct PatientPage {
    pub record: PatientRecord,
    pub visits: Vec<(Booking, Slot, Provider)>,
    pub visit_types: HashMap<VisitTypeId, VisitType>,
    pub counts: VisitCounts,
    pub notes: Vec<NoteView>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct VisitCounts {
    /// Visits not cancelled, past and upcoming.
    pub visits: usize,
    pub upcoming: usize,
    pub completed: usize,
    pub no_shows: usize,
    pub cancellations: usize,
    /// Cancelled within the visit's cancel cut-off before it (its type's, or the clinic's).
    pub late_cancellations: usize,
}

/// A patient's page; a merged record answers with the one it was merged into.
pub fn page(
    conn: &mut DbConnection,
    id: PatientId,
    policy: &BookingPolicy,
    now: NaiveDateTime,
) -> Result<PatientPage, ClinicError> {
    let mut record = stored::find(conn, id)?.ok_or(ClinicError::NotFound("patient"))?;
    // Merges chain at most as deep as staff merged; a bound keeps a bad row from looping.
    for _ in 0..16 {
        match record.merged_into {
            Some(into) => {
                record = stored::find(conn, into)?.ok_or(ClinicError::NotFound("patient"))?
            }
            None => break,
        }
    }
    let filter = BookingFilter {
        patient_id: Some(record.id),
        ..Default::default()
    };
    let mut visits = bookings::search(conn, &filter)?;
    visits.reverse();
    let visit_types: HashMap<VisitTypeId, VisitType> = visit_types::list(conn, false)?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let counts = count(&visits, &visit_types, policy, now);
    let notes = notes::of_patients(conn, &[record.id])?;
    Ok(PatientPage {
        record,
        visits,
        visit_types,
        counts,
        notes,
    })
}

fn count(
    visits: &[(Booking, Slot, Provider)],
    visit_types: &HashMap<VisitTypeId, VisitType>,
    policy: &BookingPolicy,
    now: NaiveDateTime,
) -> VisitCounts {
    let mut counts = VisitCounts::default();
    for (booking, slot, _) in visits {
        match booking.status {
            BookingStatus::Cancelled => {
                counts.cancellations += 1;
                let visit_type = booking.visit_type_id.and_then(|id| visit_types.get(&id));
                if is_late_cancellation(policy, visit_type, slot.starts_at, booking.cancelled_at) {
                    counts.late_cancellations += 1;
                }
                continue;
            }
            BookingStatus::Completed => counts.completed += 1,
            BookingStatus::NoShow => counts.no_shows += 1,
            BookingStatus::Booked if slot.starts_at > now => counts.upcoming += 1,
            _ => {}
        }
        counts.visits += 1;
    }
    counts
}

/// Cancelled inside the cancel cut-off before the visit (the rule patients cannot cancel past
/// online): the front desk's "late cancellation". Rows cancelled before the time was recorded
/// count as not late.
pub(crate) fn is_late_cancellation(
    policy: &BookingPolicy,
    visit_type: Option<&VisitType>,
    starts_at: NaiveDateTime,
    cancelled_at: Option<NaiveDateTime>,
) -> bool {
    // The test that refuses a patient's own cancellation then (`BookingRules::check_change`),
    // as the admins' report counts them.
    let rules = rules::rules_for(policy, visit_type);
    cancelled_at.is_some_and(|at| rules.check_change(starts_at, at).is_some())
}

/// Merges `from` into `into`: `from`'s visits and notes are `into`'s now; `from` stays as a
/// merged record, so its audit entries still name it.
pub fn merge(
    conn: &mut DbConnection,
    actor: &Actor,
    from: PatientId,
    into: PatientId,
    now: NaiveDateTime,
) -> Result<(), ClinicError> {
    if from == into {
        return Err(ClinicError::invalid(
            "into",
            "a patient cannot be merged into itself",
        ));
    }
    let source = stored::find(conn, from)?.ok_or(ClinicError::NotFound("patient"))?;
    let target = stored::find(conn, into)?.ok_or(ClinicError::NotFound("patient"))?;
    for (field, record) in [("patient", &source), ("into", &target)] {
        if record.merged_into.is_some() || record.erased_at.is_some() {
            let state = if record.erased_at.is_some() {
                "erased"
            } else {
                "merged"
            };
            return Err(ClinicError::invalid(
                field,
                format!("patient {} is {state}", record.id),
            ));
        }
    }
    let moved =
        stored::merge(conn, from, into, now)?.ok_or(ClinicError::ChangedMeanwhile("patient"))?;
    audit::record(
        conn,
        actor,
        AuditAction::PatientMerge,
        Entity::Patient(from),
        None,
        Some(json!({"merged_into": into.get(), "bookings_moved": moved})),
        now,
    )?;
    audit::record(
        conn,
        actor,
        AuditAction::PatientMerge,
        Entity::Patient(into),
        None,
        Some(json!({"merged_from": from.get(), "bookings_moved": moved})),
        now,
    )?;
    Ok(())
}

/// Staff say a flagged patient is someone else than the one it may have been.
pub fn not_a_duplicate(
    conn: &mut DbConnection,
    actor: &Actor,
    id: PatientId,
    now: NaiveDateTime,
) -> Result<(), ClinicError> {
    let record = stored::find(conn, id)?.ok_or(ClinicError::NotFound("patient"))?;
    if stored::clear_flag(conn, id, now)? {
        audit::record(
            conn,
            actor,
            AuditAction::PatientDistinct,
            Entity::Patient(id),
            Some(json!({"duplicate_of": record.duplicate_of.map(PatientId::get)})),
            Some(json!({"duplicate_of": null})),
            now,
        )?;
    }
    Ok(())
}
