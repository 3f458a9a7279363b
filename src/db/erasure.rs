//! Every place a patient's personal data is stored, for an access request (`gather`) and an
//! erasure (`erase`): bookings, their mails and texts, webhook deliveries, idempotency records,
//! waitlist entries, notes, the patient's record and search words, and the audit entries about
//! their visits. Kept in one module so that a new table holding patient data has one place to
//! be added, and the erasure test greps every table for what it must no longer find.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;

use super::schema::{
    audit_log, bookings, holds, idempotency_keys, notes, outbox, patient_search_terms, patients,
    text_messages, waitlist_entries, webhook_deliveries,
};
use super::DbConnection;
use crate::domain::ids::{BookingId, PatientId};

/// What replaces a name, a free text or a phone number.
pub const TOMBSTONE: &str = "[erased]";

/// The address an erased booking or record keeps (a reserved domain: nothing is ever sent there).
pub fn tombstone_email(id: PatientId) -> String {
    format!("erased-{id}@erased.invalid")
}

/// Members that hold what a patient told the clinic, wherever a stored answer or payload has
/// them (a booking's `patient`, `reason` and intake `concern`, a cancellation's reason).
const PERSONAL_MEMBERS: [&str; 4] = ["patient", "reason", "concern", "cancel_reason"];

/// Scrubs a stored document about the patient: the personal members go, and every other string
/// that contains one of `needles` (lower case) becomes the tombstone. Answers whether it changed
/// anything.
pub fn scrub(value: &mut Value, needles: &[String]) -> bool {
    match value {
        Value::String(text) => {
            let lower = text.to_lowercase();
            if needles.iter().any(|n| lower.contains(n.as_str())) {
                *text = TOMBSTONE.to_owned();
                true
            } else {
                false
            }
        }
        Value::Array(items) => items.iter_mut().fold(false, |c, v| scrub(v, needles) | c),
        Value::Object(members) => members.iter_mut().fold(false, |changed, (key, v)| {
            if PERSONAL_MEMBERS.contains(&key.as_str()) && !v.is_null() && *v != TOMBSTONE {
                *v = Value::String(TOMBSTONE.to_owned());
                return true;
            }
            scrub(v, needles) | changed
        }),
        _ => false,
    }
}

fn scrub_text(text: &str, needles: &[String]) -> Option<String> {
    let mut value: Value = serde_json::from_str(text).unwrap_or(Value::String(text.to_owned()));
    scrub(&mut value, needles).then(|| value.to_string())
}

diesel::define_sql_function! {
    fn lower(text: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// Whether `text` (lower case) holds `address` as a whole address, not inside a longer one
/// (`ana@x.com` is not in `diana@x.com`).
pub fn names_address(text: &str, address: &str) -> bool {
    let text = text.to_lowercase();
    let inside = |c: char| c.is_alphanumeric() || "._%+-".contains(c);
    text.match_indices(address).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let mut after = text[at + address.len()..].chars();
        // A full stop after it may end a sentence; one followed by more of a domain does not.
        let continues = match after.next() {
            Some('.') => after.next().is_some_and(char::is_alphanumeric),
            Some(c) => inside(c),
            None => false,
        };
        !before.is_some_and(inside) && !continues
    })
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// How many rows of each kind an erasure changed.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_found_whole() {
        assert!(names_address("To: Ana <ana@x.com>", "ana@x.com"));
        assert!(names_address("write to ana@x.com.", "ana@x.com"));
        assert!(!names_address("To: diana@x.com", "ana@x.com"));
        assert!(!names_address("ana@x.com.mx", "ana@x.com"));
        assert!(!names_address("ana@x.community", "ana@x.com"));
    }

    #[test]
    fn a_scrub_removes_personal_members_and_names() {
        let mut doc = serde_json::json!({
            "patient": {"name": "Zeb Q"}, "reason": "back", "provider": {"name": "Dr. Lee"},
            "note": "Zeb called", "status": "booked"
        });
        assert!(scrub(&mut doc, &["zeb".to_owned()]));
        assert_eq!(doc["patient"], TOMBSTONE);
        assert_eq!(doc["reason"], TOMBSTONE);
        assert_eq!(doc["note"], TOMBSTONE);
        assert_eq!(doc["provider"]["name"], "Dr. Lee");
        assert_eq!(doc["status"], "booked");
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Erased {
    pub bookings: usize,
    pub notes: usize,
    pub mails: usize,
    pub text_messages: usize,
    pub webhook_deliveries: usize,
    pub idempotency_records: usize,
    pub waitlist_entries: usize,
    pub audit_entries: usize,
}

/// Erases `records` (a patient and the records merged into it) and `booking_ids` (their
/// visits). Stored documents about those visits (webhook payloads, idempotency answers, audit
/// states) are scrubbed of `words` (lower case: names and each of their words, addresses,
/// phones, the birth date); `emails` are the patient's addresses, exactly (an idempotency key
/// naming one goes); `waitlist` those of them no other current patient uses, whose waitlist
/// entries are the patient's. Non-personal facts stay: times, statuses, sources, visit types,
/// providers; the reports still count them.
pub fn erase(
    conn: &mut DbConnection,
    records: &[PatientId],
    booking_ids: &[BookingId],
    (words, emails, waitlist): (&[String], &[String], &[String]),
    now: NaiveDateTime,
) -> QueryResult<Erased> {
    let mut erased = Erased::default();
    let Some(&main) = records.first() else {
        return Ok(erased);
    };
    let email = tombstone_email(main);
    for chunk in booking_ids.chunks(500) {
        erased.bookings += diesel::update(bookings::table.filter(bookings::id.eq_any(chunk)))
            .set((
                bookings::patient_name.eq(TOMBSTONE),
                bookings::patient_email.eq(&email),
                bookings::patient_phone.eq(None::<String>),
                bookings::patient_date_of_birth.eq(None::<chrono::NaiveDate>),
                bookings::reason.eq(None::<String>),
                bookings::concern_area.eq(None::<String>),
                bookings::concern_onset.eq(None::<String>),
                bookings::red_flags.eq(None::<String>),
                bookings::needs_review.eq(false),
                bookings::cancel_reason.eq(None::<String>),
                bookings::sms_consent.eq(false),
            ))
            .execute(conn)?;
        // Mails and texts are written from the booking when they go: what waits is not sent
        // (its address is gone); what went keeps its kind and time, and loses any error text
        // (a server's refusal may quote the address).
        erased.mails += diesel::update(
            outbox::table
                .filter(outbox::booking_id.eq_any(chunk))
                .filter(outbox::status.eq("pending")),
        )
        .set((
            outbox::status.eq("failed"),
            outbox::last_error.eq("not sent: the patient's data was erased"),
        ))
        .execute(conn)?;
        erased.mails += diesel::update(
            outbox::table
                .filter(outbox::booking_id.eq_any(chunk))
                .filter(outbox::status.ne("pending"))
                .filter(outbox::last_error.is_not_null()),
        )
        .set(outbox::last_error.eq(None::<String>))
        .execute(conn)?;
        erased.text_messages +=
            diesel::update(text_messages::table.filter(text_messages::booking_id.eq_any(chunk)))
                .set((
                    text_messages::to_number.eq(TOMBSTONE),
                    text_messages::last_error.eq(None::<String>),
                ))
                .execute(conn)?;
        diesel::update(
            text_messages::table
                .filter(text_messages::booking_id.eq_any(chunk))
                .filter(text_messages::status.eq("pending")),
        )
        .set(text_messages::status.eq("skipped"))
        .execute(conn)?;
        let deliveries: Vec<(i32, String)> = webhook_deliveries::table
            .filter(webhook_deliveries::booking_id.eq_any(chunk))
            .select((webhook_deliveries::id, webhook_deliveries::payload))
            .load(conn)?;
        for (id, payload) in deliveries {
            if let Some(clean) = scrub_text(&payload, words) {
                diesel::update(webhook_deliveries::table.find(id))
                    .set(webhook_deliveries::payload.eq(clean))
                    .execute(conn)?;
                erased.webhook_deliveries += 1;
            }
        }
    }
    let references: Vec<String> = booking_ids
        .chunks(500)
        .map(|chunk| {
            bookings::table
                .filter(bookings::id.eq_any(chunk))
                .select(bookings::reference)
                .load::<String>(conn)
        })
        .collect::<QueryResult<Vec<_>>>()?
        .concat();
    // Idempotency records keep an answer (a booking with its patient) for replays: those about
    // one of the patient's bookings (named by its reference, random and unique) are scrubbed;
    // one whose key or answer names the patient's address exactly (a FHIR If-None-Exist search)
    // goes. Nothing is matched by a name or date, which other patients share.
    let mut about: Vec<String> = Vec::new();
    for reference in &references {
        about.extend(
            idempotency_keys::table
                .filter(
                    idempotency_keys::response_body
                        .like(format!("%{}%", escape_like(reference)))
                        .escape('\\'),
                )
                .select(idempotency_keys::idempotency_key)
                .load::<String>(conn)?,
        );
    }
    about.sort_unstable();
    about.dedup();
    for key in about {
        let body: Option<String> = idempotency_keys::table
            .find(&key)
            .select(idempotency_keys::response_body)
            .get_result(conn)
            .optional()?;
        if let Some(clean) = body.and_then(|b| scrub_text(&b, words)) {
            diesel::update(idempotency_keys::table.find(&key))
                .set(idempotency_keys::response_body.eq(clean))
                .execute(conn)?;
            erased.idempotency_records += 1;
        }
    }
    let mut named: Vec<String> = Vec::new();
    for address in emails {
        let candidates: Vec<(String, String)> = idempotency_keys::table
            .filter(
                lower(idempotency_keys::idempotency_key)
                    .like(format!("%{}%", escape_like(address)))
                    .escape('\\')
                    .or(lower(idempotency_keys::response_body)
                        .like(format!("%{}%", escape_like(address)))
                        .escape('\\')),
            )
            .select((
                idempotency_keys::idempotency_key,
                idempotency_keys::response_body,
            ))
            .load(conn)?;
        named.extend(
            candidates
                .into_iter()
                .filter(|(key, body)| names_address(key, address) || names_address(body, address))
                .map(|(key, _)| key),
        );
    }
    for chunk in named.chunks(500) {
        erased.idempotency_records += diesel::delete(
            idempotency_keys::table.filter(idempotency_keys::idempotency_key.eq_any(chunk)),
        )
        .execute(conn)?;
    }
    // Waitlist entries by the patient's own addresses (`waitlist` holds those no other current
    // patient uses): tombstoned and off the list, their waiting mail not sent.
    for address in waitlist {
        let entries: Vec<i32> = waitlist_entries::table
            .filter(lower(waitlist_entries::patient_email).eq(address))
            .select(waitlist_entries::id)
            .load(conn)?;
        if entries.is_empty() {
            continue;
        }
        erased.waitlist_entries +=
            diesel::update(waitlist_entries::table.filter(waitlist_entries::id.eq_any(&entries)))
                .set((
                    waitlist_entries::patient_name.eq(TOMBSTONE),
                    waitlist_entries::patient_email.eq(&email),
                    waitlist_entries::patient_phone.eq(None::<String>),
                ))
                .execute(conn)?;
        diesel::update(
            waitlist_entries::table
                .filter(waitlist_entries::id.eq_any(&entries))
                .filter(waitlist_entries::status.eq_any(["unverified", "waiting"])),
        )
        .set((
            waitlist_entries::status.eq("removed"),
            waitlist_entries::ended_at.eq(now),
        ))
        .execute(conn)?;
        erased.mails += diesel::update(
            outbox::table
                .filter(outbox::waitlist_entry_id.eq_any(&entries))
                .filter(outbox::status.eq("pending")),
        )
        .set((
            outbox::status.eq("failed"),
            outbox::last_error.eq("not sent: the patient's data was erased"),
        ))
        .execute(conn)?;
        diesel::update(
            outbox::table
                .filter(outbox::waitlist_entry_id.eq_any(&entries))
                .filter(
                    outbox::status
                        .ne("failed")
                        .or(outbox::last_error.ne("not sent: the patient's data was erased")),
                ),
        )
        .set(outbox::last_error.eq(None::<String>))
        .execute(conn)?;
    }
    // A hold a booking was made from keeps the client's keyed address hash: it goes.
    for chunk in booking_ids.chunks(500) {
        diesel::update(holds::table.filter(holds::booking_id.eq_any(chunk)))
            .set(holds::client_key.eq(None::<String>))
            .execute(conn)?;
    }
    // The audit names no patient by design; a staff member's reason for an override may.
    for chunk in references.chunks(500) {
        let entries: Vec<(i32, Option<String>, Option<String>)> = audit_log::table
            .filter(audit_log::booking_reference.eq_any(chunk))
            .select((audit_log::id, audit_log::from_state, audit_log::to_state))
            .load(conn)?;
        for (id, from, to) in entries {
            let from_clean = from.as_deref().and_then(|t| scrub_text(t, words));
            let to_clean = to.as_deref().and_then(|t| scrub_text(t, words));
            if from_clean.is_some() || to_clean.is_some() {
                diesel::update(audit_log::table.find(id))
                    .set((
                        audit_log::from_state.eq(from_clean.or(from)),
                        audit_log::to_state.eq(to_clean.or(to)),
                    ))
                    .execute(conn)?;
                erased.audit_entries += 1;
            }
        }
    }
    erased.notes += diesel::update(notes::table.filter(notes::patient_id.eq_any(records)))
        .set((notes::body.eq(TOMBSTONE), notes::updated_at.eq(now)))
        .execute(conn)?;
    diesel::delete(
        patient_search_terms::table.filter(patient_search_terms::patient_id.eq_any(records)),
    )
    .execute(conn)?;
    for id in records {
        let email = tombstone_email(*id);
        diesel::update(patients::table.find(*id))
            .set((
                patients::name.eq(TOMBSTONE),
                patients::email.eq(&email),
                patients::email_key.eq(&email),
                patients::phone.eq(None::<String>),
                patients::date_of_birth.eq(None::<chrono::NaiveDate>),
                patients::duplicate_of.eq(None::<PatientId>),
                patients::erased_at.eq(now),
                patients::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    // Another record flagged as possibly this one no longer can be.
    diesel::update(patients::table.filter(patients::duplicate_of.eq_any(records)))
        .set(patients::duplicate_of.eq(None::<PatientId>))
        .execute(conn)?;
    Ok(erased)
}

/// The records merged into `id` (directly or through another), and `id` first.
pub fn with_merged(conn: &mut DbConnection, id: PatientId) -> QueryResult<Vec<PatientId>> {
    let mut all = vec![id];
    let mut frontier = vec![id];
    while !frontier.is_empty() && all.len() < 1_000 {
        let next: Vec<PatientId> = patients::table
            .filter(patients::merged_into.eq_any(&frontier))
            .select(patients::id)
            .load(conn)?;
        frontier = next.into_iter().filter(|n| !all.contains(n)).collect();
        all.extend(&frontier);
    }
    Ok(all)
}

fn instant(at: NaiveDateTime) -> String {
    at.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Everything held about the patient's bookings and waitlist entries, beyond the bookings
/// themselves: the mails and texts about them, the webhook deliveries, the audit entries (about
/// the bookings, the records and their notes). For an access request.
pub fn gather(
    conn: &mut DbConnection,
    records: &[PatientId],
    booking_ids: &[BookingId],
    emails: &[String],
) -> QueryResult<Value> {
    use serde_json::json;
    let mut mails = Vec::new();
    let mut texts = Vec::new();
    let mut deliveries = Vec::new();
    let mut references = Vec::new();
    for chunk in booking_ids.chunks(500) {
        references.extend(
            bookings::table
                .filter(bookings::id.eq_any(chunk))
                .select(bookings::reference)
                .load::<String>(conn)?,
        );
        let rows: Vec<MailRow> = outbox::table
            .filter(outbox::booking_id.eq_any(chunk))
            .order(outbox::id.asc())
            .select((
                outbox::booking_id,
                outbox::kind,
                outbox::status,
                outbox::attempts,
                outbox::sent_at,
                outbox::created_at,
            ))
            .load(conn)?;
        mails.extend(rows.into_iter().map(|(booking, kind, status, attempts, sent, created)| {
            json!({"booking_id": booking.map(BookingId::get), "kind": kind, "status": status,
                   "attempts": attempts, "sent_at": sent.map(instant), "created_at": instant(created)})
        }));
        let rows: Vec<(BookingId, String, String, String, Option<NaiveDateTime>)> =
            text_messages::table
                .filter(text_messages::booking_id.eq_any(chunk))
                .order(text_messages::id.asc())
                .select((
                    text_messages::booking_id,
                    text_messages::kind,
                    text_messages::to_number,
                    text_messages::status,
                    text_messages::sent_at,
                ))
                .load(conn)?;
        texts.extend(rows.into_iter().map(|(booking, kind, to, status, sent)| {
            json!({"booking_id": booking.get(), "kind": kind, "to": to, "status": status,
                   "sent_at": sent.map(instant)})
        }));
        let rows: Vec<(String, String, String, Option<NaiveDateTime>, String)> =
            webhook_deliveries::table
                .filter(webhook_deliveries::booking_id.eq_any(chunk))
                .order(webhook_deliveries::id.asc())
                .select((
                    webhook_deliveries::message_id,
                    webhook_deliveries::event_type,
                    webhook_deliveries::status,
                    webhook_deliveries::delivered_at,
                    webhook_deliveries::payload,
                ))
                .load(conn)?;
        deliveries.extend(
            rows.into_iter()
                .map(|(id, event, status, delivered, payload)| {
                    let payload: Value =
                        serde_json::from_str(&payload).unwrap_or(Value::String(payload));
                    json!({"message_id": id, "event_type": event, "status": status,
                   "delivered_at": delivered.map(instant), "payload": payload})
                }),
        );
    }
    let mut waitlist = Vec::new();
    for address in emails {
        let rows: Vec<(
            String,
            String,
            String,
            String,
            Option<String>,
            NaiveDateTime,
        )> = waitlist_entries::table
            .filter(lower(waitlist_entries::patient_email).eq(address))
            .select((
                waitlist_entries::reference,
                waitlist_entries::status,
                waitlist_entries::patient_name,
                waitlist_entries::patient_email,
                waitlist_entries::patient_phone,
                waitlist_entries::created_at,
            ))
            .load(conn)?;
        waitlist.extend(rows.into_iter().map(
            |(reference, status, name, email, phone, created)| {
                json!({"reference": reference, "status": status, "name": name, "email": email,
                   "phone": phone, "created_at": instant(created)})
            },
        ));
    }
    let note_ids: Vec<String> = notes::table
        .filter(notes::patient_id.eq_any(records))
        .select(notes::id)
        .load::<i32>(conn)?
        .into_iter()
        .map(|id| id.to_string())
        .collect();
    let record_ids: Vec<String> = records.iter().map(|id| id.to_string()).collect();
    let mut audit = Vec::new();
    for chunk in references.chunks(500) {
        let about = audit_log::table
            .into_boxed()
            .filter(audit_log::booking_reference.eq_any(chunk.to_vec()));
        audit.extend(audit_rows(conn, about)?);
    }
    for (kind, ids) in [("patient", record_ids), ("note", note_ids)] {
        let about = audit_log::table
            .into_boxed()
            .filter(audit_log::entity_type.eq(kind))
            .filter(audit_log::entity_id.eq_any(ids));
        audit.extend(audit_rows(conn, about)?);
    }
    Ok(json!({
        "mails": mails,
        "text_messages": texts,
        "webhook_deliveries": deliveries,
        "waitlist_entries": waitlist,
        "audit": audit,
    }))
}

/// A mail about a booking: booking, kind, status, attempts, sent, made.
type MailRow = (
    Option<BookingId>,
    String,
    String,
    i32,
    Option<NaiveDateTime>,
    NaiveDateTime,
);

type AuditRow = (
    i32,
    NaiveDateTime,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
);

type Backend = <DbConnection as diesel::Connection>::Backend;

fn audit_rows(
    conn: &mut DbConnection,
    query: audit_log::BoxedQuery<'static, Backend>,
) -> QueryResult<Vec<Value>> {
    let rows: Vec<AuditRow> = query
        .order(audit_log::id.asc())
        .select((
            audit_log::id,
            audit_log::at,
            audit_log::actor,
            audit_log::action,
            audit_log::entity_type,
            audit_log::entity_id,
            audit_log::from_state,
            audit_log::to_state,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, at, actor, action, entity_type, entity_id, from, to)| {
            let parse = |t: Option<String>| t.map(|t| serde_json::from_str(&t).unwrap_or(Value::String(t)));
            serde_json::json!({"id": id, "at": instant(at), "actor": actor, "action": action,
                "entity_type": entity_type, "entity_id": entity_id, "from": parse(from), "to": parse(to)})
        })
        .collect())
}

/// The references of the waitlist entries under these addresses (lower case).
pub fn waitlist_references(
    conn: &mut DbConnection,
    addresses: &[String],
) -> QueryResult<Vec<String>> {
    let mut references = Vec::new();
    for address in addresses {
        references.extend(
            waitlist_entries::table
                .filter(lower(waitlist_entries::patient_email).eq(address))
                .select(waitlist_entries::reference)
                .load::<String>(conn)?
                .into_iter()
                .map(|r| r.to_lowercase()),
        );
    }
    Ok(references)
}
