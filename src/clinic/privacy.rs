//! A patient's privacy rights: the right of access (everything held about them, as JSON) and
//! erasure (their personal data replaced by a tombstone wherever it is stored, the non-personal
//! facts kept for the reports), on request or after the retention period. Both are audited by
//! record id, never by name.

use chrono::{Duration, NaiveDateTime};
use serde_json::{json, Value};

use super::audit::{self, Entity};
use super::ClinicError;
use crate::db::audit::AuditAction;
use crate::db::bookings::{self, Booking, BookingFilter};
use crate::db::erasure::{self, Erased};
use crate::db::notes;
use crate::db::patients::{self, PatientRecord};
use crate::db::DbConnection;
use crate::domain::actor::Actor;
use crate::domain::booking::BookingStatus;
use crate::domain::ids::{BookingId, PatientId};

fn instant(at: NaiveDateTime) -> String {
    at.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn record_json(record: &PatientRecord) -> Value {
    json!({
        "id": record.id.get(),
        "name": record.name,
        "email": record.email,
        "phone": record.phone,
        "date_of_birth": record.date_of_birth.map(|d| d.to_string()),
        "created_at": instant(record.created_at),
        "updated_at": instant(record.updated_at),
        "erased_at": record.erased_at.map(instant),
    })
}

fn booking_json(booking: &Booking, start: NaiveDateTime, provider: &str) -> Value {
    json!({
        "reference": booking.reference,
        "status": booking.status.as_str(),
        "start": instant(start),
        "end": booking.ends_at.map(instant),
        "provider": provider,
        "visit_type_id": booking.visit_type_id.map(|v| v.get()),
        "source": booking.source.as_str(),
        "patient": {
            "name": booking.patient_name,
            "email": booking.patient_email,
            "phone": booking.patient_phone,
            "date_of_birth": booking.patient_date_of_birth.map(|d| d.to_string()),
            "sms_consent": booking.sms_consent,
        },
        "reason": booking.reason,
        "concern": {
            "area": booking.concern_area,
            "onset": booking.concern_onset,
            "red_flags": booking.red_flags,
            "needs_review": booking.needs_review,
        },
        "cancel_reason": booking.cancel_reason,
        "created_at": instant(booking.created_at),
        "updated_at": instant(booking.updated_at),
        "cancelled_at": booking.cancelled_at.map(instant),
    })
}

/// A patient, the records merged into it, and their bookings.
struct Held {
    records: Vec<PatientRecord>,
    bookings: Vec<(Booking, NaiveDateTime, String)>,
}

impl Held {
    fn load(conn: &mut DbConnection, id: PatientId) -> Result<Self, ClinicError> {
        let main = patients::find(conn, id)?.ok_or(ClinicError::NotFound("patient"))?;
        if main.merged_into.is_some() {
            return Err(ClinicError::invalid(
                "patient",
                format!(
                    "patient {id} was merged into {}; use that record",
                    main.merged_into.map_or(0, PatientId::get)
                ),
            ));
        }
        let ids = erasure::with_merged(conn, id)?;
        let mut records = vec![main];
        records.extend(patients::find_many(conn, &ids[1..])?);
        // Each record's bookings: a merge moved them to `id`, but one that raced it may not have.
        let mut bookings = Vec::new();
        for record in &ids {
            let filter = BookingFilter {
                patient_id: Some(*record),
                ..Default::default()
            };
            bookings.extend(
                bookings::search(conn, &filter)?
                    .into_iter()
                    .map(|(booking, slot, provider)| (booking, slot.starts_at, provider.name)),
            );
        }
        Ok(Self { records, bookings })
    }

    fn ids(&self) -> Vec<PatientId> {
        self.records.iter().map(|r| r.id).collect()
    }

    fn booking_ids(&self) -> Vec<BookingId> {
        self.bookings.iter().map(|(b, _, _)| b.id).collect()
    }

    /// The addresses the patient used (lower case): their waitlist entries and mails carry them.
    fn emails(&self) -> Vec<String> {
        let mut emails: Vec<String> = self
            .records
            .iter()
            .map(|r| patients::email_key(&r.email))
            .chain(
                self.bookings
                    .iter()
                    .map(|(b, _, _)| patients::email_key(&b.patient_email)),
            )
            .filter(|e| !e.ends_with("@erased.invalid"))
            .collect();
        emails.sort();
        emails.dedup();
        emails
    }

    /// The addresses no other current patient uses: the waitlist entries under them are this
    /// patient's (a parent's entry under an address their child shares is the parent's).
    fn own_emails(&self, conn: &mut DbConnection) -> Result<Vec<String>, ClinicError> {
        let ids = self.ids();
        let mut own = Vec::new();
        for email in self.emails() {
            let holders = patients::current_with_email(conn, &email)?;
            if holders.iter().all(|p| ids.contains(&p.id)) {
                own.push(email);
            }
        }
        Ok(own)
    }

    fn references(&self) -> Vec<String> {
        self.bookings
            .iter()
            .map(|(b, _, _)| b.reference.to_lowercase())
            .collect()
    }
}

impl Held {
    /// What is scrubbed from the documents about the patient's visits, lower case: the names and
    /// each of their words (3 characters or more: a reason typed as "Zebulon's back" names him
    /// too), the addresses, the phones, the birth dates.
    fn words(&self) -> Vec<String> {
        let mut words: Vec<String> = self.emails();
        let mut add = |name: &str, phone: Option<&str>, born: Option<chrono::NaiveDate>| {
            let name = name.trim().to_lowercase();
            words.extend(
                name.split(|c: char| c.is_whitespace() || c == '-')
                    .filter(|w| w.chars().count() >= 3)
                    .map(str::to_owned),
            );
            words.push(name);
            words.extend(phone.map(|p| p.trim().to_lowercase()));
            words.extend(born.map(|d| d.to_string()));
        };
        for r in &self.records {
            add(&r.name, r.phone.as_deref(), r.date_of_birth);
        }
        for (b, _, _) in &self.bookings {
            add(
                &b.patient_name,
                b.patient_phone.as_deref(),
                b.patient_date_of_birth,
            );
        }
        words.retain(|w| w.chars().count() >= 3 && w != erasure::TOMBSTONE);
        words.sort();
        words.dedup();
        words
    }
}

/// Everything held about a patient (the right of access), as one JSON document.
pub fn export(
    conn: &mut DbConnection,
    actor: &Actor,
    id: PatientId,
    now: NaiveDateTime,
) -> Result<Value, ClinicError> {
    let held = Held::load(conn, id)?;
    let notes: Vec<Value> = notes::of_patients(conn, &held.ids())?
        .into_iter()
        .map(|n| {
            json!({
                "id": n.note.id.get(),
                "body": n.note.body,
                "booking_reference": n.booking_reference,
                "author": n.author,
                "created_at": instant(n.note.created_at),
                "updated_at": instant(n.note.updated_at),
            })
        })
        .collect();
    let own = held.own_emails(conn)?;
    let mut document = erasure::gather(conn, &held.ids(), &held.booking_ids(), &own)?;
    document["exported_at"] = json!(instant(now));
    document["patient"] = record_json(&held.records[0]);
    document["merged_records"] = held.records[1..].iter().map(record_json).collect();
    document["bookings"] = held
        .bookings
        .iter()
        .map(|(b, start, provider)| booking_json(b, *start, provider))
        .collect();
    document["notes"] = Value::Array(notes);
    audit::record(
        conn,
        actor,
        AuditAction::PatientExport,
        Entity::Patient(id),
        None,
        Some(json!({"bookings": held.bookings.len()})),
        now,
    )?;
    Ok(document)
}

/// What an erasure did, and the addresses it erased (the mail layer removes stored copies of
/// mails sent to them).
#[derive(Debug)]
pub struct Erasure {
    pub erased: Erased,
    /// The patient's addresses and what names their mails (booking and waitlist references),
    /// lower case: `mail::erase_stored_copies` takes both.
    pub emails: Vec<String>,
    pub markers: Vec<String>,
}

/// Erases a patient: refused while a visit is still booked ahead (cancel it first, or let it
/// happen), since the clinic still needs to know who is coming.
pub fn erase(
    conn: &mut DbConnection,
    actor: &Actor,
    id: PatientId,
    now: NaiveDateTime,
) -> Result<Erasure, ClinicError> {
    // Bookings for these addresses wait until this is done (PostgreSQL: the address locks the
    // booking rules take), so none matches the record while it is being erased.
    for email in Held::load(conn, id)?.emails() {
        bookings::lock_patient_email(conn, &email)?;
    }
    let held = Held::load(conn, id)?;
    let upcoming: Vec<String> = held
        .bookings
        .iter()
        .filter(|(b, start, _)| b.status == BookingStatus::Booked && *start > now)
        .map(|(b, _, _)| b.reference.clone())
        .collect();
    if !upcoming.is_empty() {
        return Err(ClinicError::PatientHasUpcomingVisits(upcoming));
    }
    // Erasing an erased record again scrubs what may have come since (it finds no address).
    let emails = held.emails();
    let own = held.own_emails(conn)?;
    let mut markers = held.references();
    markers.extend(erasure::waitlist_references(conn, &own)?);
    let erased = erasure::erase(
        conn,
        &held.ids(),
        &held.booking_ids(),
        (&held.words(), &emails, &own),
        now,
    )?;
    audit::record(
        conn,
        actor,
        AuditAction::PatientErase,
        Entity::Patient(id),
        None,
        Some(serde_json::to_value(erased).unwrap_or(Value::Null)),
        now,
    )?;
    Ok(Erasure {
        erased,
        emails,
        markers,
    })
}

/// Erases, one transaction each, the patients with no visit (and no booking made) in the last
/// `days` days, handing each erasure to `then` once it is committed (the caller removes stored
/// mail). The server runs it daily when a retention period is set, and
/// `clinic-booking erase-inactive` on demand.
pub fn erase_inactive(
    conn: &mut DbConnection,
    days: u32,
    now: NaiveDateTime,
    mut then: impl FnMut(&Erasure) -> std::io::Result<()>,
) -> anyhow::Result<usize> {
    let before = now - Duration::days(i64::from(days));
    let mut done = 0;
    loop {
        let batch = patients::inactive_since(conn, before, 100)?;
        if batch.is_empty() {
            return Ok(done);
        }
        for id in batch {
            let erasure =
                crate::db::write_transaction(conn, |conn| erase(conn, &Actor::System, id, now))
                    .map_err(|e| anyhow::anyhow!("erasing patient {id}: {e}"))?;
            then(&erasure)?;
            done += 1;
        }
    }
}
