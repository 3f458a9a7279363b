//! Patients as records (staff): search, a patient's page with every visit and the counts staff
//! look at, merging possible duplicates, notes; and for admins the privacy duties, export and
//! erasure.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::views::{
    booking_status_schema, phone_schema, private_json, reference_schema, rfc3339, source_schema,
    LocationSummary, ProviderSummary, VisitTypeSummary,
};
use crate::clinic::locations::Directory;
use crate::clinic::notes::{self, About};
use crate::clinic::patients::{self, PatientPage, PatientSummary, VisitCounts};
use crate::clinic::privacy;
use crate::db::{self, notes::NoteView};
use crate::domain::booking::BookingReference;
use crate::domain::ids::{NoteId, PatientId};
use crate::domain::search::PatientQuery;
use crate::error::ApiError;
use crate::routes::access::{AdminUser, AnyStaff, FrontDeskUser};
use crate::state::AppState;

fn patient_from_path(id: i64) -> Result<PatientId, ApiError> {
    PatientId::try_from(id).map_err(|_| ApiError::not_found("patient"))
}

fn note_from_path(id: i64) -> Result<NoteId, ApiError> {
    NoteId::try_from(id).map_err(|_| ApiError::not_found("note"))
}

fn json_body<T: Serialize>(value: &T) -> Result<HttpResponse, ApiError> {
    let body = serde_json::to_string(value).map_err(anyhow::Error::from)?;
    Ok(private_json(body))
}

/// A staff note: never shown to the patient.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "id": 12, "body": "Needs a Spanish interpreter", "patient_id": 3, "booking_reference": null,
    "author": "desk@clinic.example", "created_at": "2026-12-01T16:00:00Z", "updated_at": "2026-12-01T16:00:00Z"
}))]
pub(super) struct NoteJson {
    #[schema(value_type = i64, minimum = 1, maximum = 2147483647)]
    id: i32,
    #[schema(min_length = 1, max_length = 500)]
    body: String,
    #[schema(value_type = i64, minimum = 1, maximum = 2147483647)]
    patient_id: i32,
    /// The visit it is about; `null` for a note about the patient.
    #[schema(max_length = 13, pattern = "^BK-[0-9A-Z]{10}$")]
    booking_reference: Option<String>,
    /// The staff account that wrote it.
    #[schema(max_length = 254, format = Email)]
    author: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
}

impl From<&NoteView> for NoteJson {
    fn from(n: &NoteView) -> Self {
        Self {
            id: n.note.id.get(),
            body: n.note.body.clone(),
            patient_id: n.note.patient_id.get(),
            booking_reference: n.booking_reference.clone(),
            author: n.author.clone(),
            created_at: rfc3339(n.note.created_at.and_utc()),
            updated_at: rfc3339(n.note.updated_at.and_utc()),
        }
    }
}

/// A patient in a search result.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct PatientItem {
    #[schema(value_type = i64, minimum = 1, maximum = 2147483647)]
    id: i32,
    name: String,
    #[schema(format = Email)]
    email: String,
    #[schema(schema_with = phone_schema)]
    phone: Option<String>,
    #[schema(format = Date)]
    date_of_birth: Option<String>,
    /// Visits not cancelled, past and upcoming.
    #[schema(value_type = i64, minimum = 0)]
    visits: usize,
    #[schema(format = DateTime)]
    last_visit: Option<String>,
    #[schema(format = DateTime)]
    next_visit: Option<String>,
    /// Another record this may be the same person as (same address): staff merge the two or
    /// clear the flag.
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 2147483647)]
    possible_duplicate_of: Option<i32>,
}

impl From<&PatientSummary> for PatientItem {
    fn from(s: &PatientSummary) -> Self {
        let r = &s.record;
        Self {
            id: r.id.get(),
            name: r.name.clone(),
            email: r.email.clone(),
            phone: r.phone.clone(),
            date_of_birth: r.date_of_birth.map(|d| d.to_string()),
            visits: s.visits,
            last_visit: s.last_visit.map(|t| rfc3339(t.and_utc())),
            next_visit: s.next_visit.map(|t| rfc3339(t.and_utc())),
            possible_duplicate_of: r.duplicate_of.map(PatientId::get),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct PatientList {
    #[schema(max_items = 200)]
    items: Vec<PatientItem>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct PatientSearchQuery {
    /// What the receptionist typed: the start of any word of the name, of the email, of the
    /// phone number (digits; spaces, dashes and brackets are ignored), or of a booking reference
    /// (`BK-…`). Without case or accents.
    #[param(min_length = 2, max_length = 100)]
    q: String,
    /// At most this many (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

/// `GET /api/v1/patients?q=` (any staff).
#[utoipa::path(
    get,
    path = "/api/v1/patients",
    operation_id = "searchPatients",
    summary = "Find a patient",
    description = "Patients whose name has a word starting with each word of `q`, or whose email \
or phone number starts with it, or who have a booking whose reference starts with it; without case \
or accents (\"garc\" finds \"García\"), by name. Merged and erased records are not listed.",
    tag = "patients",
    security(("staff_jwt" = [])),
    params(PatientSearchQuery),
    responses(
        (status = 200, description = "The patients found", body = PatientList),
        (status = 400),
        (status = 401),
        (status = 403),
    ),
)]
pub(super) async fn search(
    state: web::Data<AppState>,
    _staff: AnyStaff,
    query: web::Query<PatientSearchQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let parsed =
        PatientQuery::parse(&query.q).map_err(|m| ApiError::BadRequest(format!("`q` {m}")))?;
    let limit = query.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::BadRequest("`limit` must be 1 to 100".into()));
    }
    let found = state
        .with_connection(move |conn| patients::search(conn, &parsed, limit, db::now()))
        .await?;
    json_body(&PatientList {
        items: found.iter().map(Into::into).collect(),
    })
}

/// `GET /api/v1/patients/duplicates` (any staff).
#[utoipa::path(
    get,
    path = "/api/v1/patients/duplicates",
    operation_id = "listPossibleDuplicates",
    summary = "Patients that may be another",
    description = "Records made for a booking whose address another patient has, with another or \
no date of birth (a parent booking for a child, a mistyped date): the clinic never merges two \
people silently. Merge each (`POST /api/v1/patients/{id}/merge`) or clear its flag \
(`DELETE /api/v1/patients/{id}/duplicate-flag`). Oldest first, at most 200.",
    tag = "patients",
    security(("staff_jwt" = [])),
    responses(
        (status = 200, description = "The flagged patients", body = PatientList),
        (status = 401),
        (status = 403),
    ),
)]
pub(super) async fn duplicates(
    state: web::Data<AppState>,
    _staff: AnyStaff,
) -> Result<HttpResponse, ApiError> {
    let found = state
        .with_connection(move |conn| patients::flagged(conn, db::now()))
        .await?;
    json_body(&PatientList {
        items: found.iter().map(Into::into).collect(),
    })
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct VisitItem {
    #[schema(schema_with = reference_schema)]
    reference: String,
    #[schema(format = DateTime)]
    start: String,
    #[schema(format = DateTime)]
    end: String,
    #[schema(schema_with = booking_status_schema)]
    status: String,
    provider: ProviderSummary,
    visit_type: Option<VisitTypeSummary>,
    location: LocationSummary,
    #[schema(schema_with = source_schema)]
    source: String,
    needs_review: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct PatientPageJson {
    #[schema(value_type = i64, minimum = 1, maximum = 2147483647)]
    id: i32,
    name: String,
    #[schema(format = Email)]
    email: String,
    #[schema(schema_with = phone_schema)]
    phone: Option<String>,
    #[schema(format = Date)]
    date_of_birth: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 2147483647)]
    possible_duplicate_of: Option<i32>,
    #[schema(value_type = Object)]
    counts: VisitCounts,
    /// Every visit, latest first.
    #[schema(max_items = 10000)]
    visits: Vec<VisitItem>,
    #[schema(max_items = 10000)]
    notes: Vec<NoteJson>,
}

fn page_json(page: &PatientPage, places: &Directory) -> PatientPageJson {
    let r = &page.record;
    PatientPageJson {
        id: r.id.get(),
        name: r.name.clone(),
        email: r.email.clone(),
        phone: r.phone.clone(),
        date_of_birth: r.date_of_birth.map(|d| d.to_string()),
        created_at: rfc3339(r.created_at.and_utc()),
        possible_duplicate_of: r.duplicate_of.map(PatientId::get),
        counts: page.counts,
        visits: page
            .visits
            .iter()
            .map(|(booking, slot, provider)| VisitItem {
                reference: booking.reference.clone(),
                start: rfc3339(slot.starts_at.and_utc()),
                end: rfc3339(booking.ends_at.unwrap_or(slot.ends_at).and_utc()),
                status: booking.status.as_str().to_owned(),
                provider: provider.into(),
                visit_type: booking
                    .visit_type_id
                    .and_then(|id| page.visit_types.get(&id))
                    .map(Into::into),
                location: places.of(slot.location_id).into(),
                source: booking.source.as_str().to_owned(),
                needs_review: booking.needs_review,
            })
            .collect(),
        notes: page.notes.iter().map(Into::into).collect(),
    }
}

async fn load_page(state: &AppState, id: PatientId) -> Result<HttpResponse, ApiError> {
    let policy = state.policy.clone();
    let json = state
        .with_connection(move |conn| {
            let page = patients::page(conn, id, &policy, db::now())?;
            let places = Directory::load(conn)?;
            Ok::<_, ApiError>(page_json(&page, &places))
        })
        .await?;
    json_body(&json)
}

/// `GET /api/v1/patients/{id}` (any staff).
#[utoipa::path(
    get,
    path = "/api/v1/patients/{id}",
    operation_id = "getPatient",
    summary = "A patient's page",
    description = "The record, every visit (latest first) with its status, the counts the front \
desk looks at (visits, upcoming, completed, no-shows, cancellations, late cancellations: those \
inside the visit's cancel cut-off), and the staff notes. A merged record answers with the record it \
was merged into.",
    tag = "patients",
    security(("staff_jwt" = [])),
    params(("id" = i64, Path, description = "The patient id", minimum = 1, maximum = 2147483647)),
    responses(
        (status = 200, description = "The patient", body = PatientPageJson),
        (status = 401),
        (status = 403),
        (status = 404, description = "No such patient"),
    ),
)]
pub(super) async fn show(
    state: web::Data<AppState>,
    _staff: AnyStaff,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = patient_from_path(path.into_inner())?;
    load_page(&state, id).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"into": 3}))]
pub(super) struct MergeBody {
    /// The record that keeps both histories.
    #[schema(minimum = 1, maximum = 2147483647)]
    into: i64,
}

/// `POST /api/v1/patients/{id}/merge` (admin, front desk).
#[utoipa::path(
    post,
    path = "/api/v1/patients/{id}/merge",
    operation_id = "mergePatient",
    summary = "Merge a patient into another",
    description = "The two records are one person: this one's visits and notes move to `into`, \
this one stays as a merged record (its audit entries still name it). Answers `into`'s page.",
    tag = "patients",
    security(("staff_jwt" = [])),
    params(("id" = i64, Path, description = "The patient id", minimum = 1, maximum = 2147483647)),
    request_body = MergeBody,
    responses(
        (status = 200, description = "Merged; the record that remains", body = PatientPageJson),
        (status = 400),
        (status = 401),
        (status = 403),
        (status = 404, description = "No such patient"),
        (status = 413),
        (status = 422),
    ),
)]
pub(super) async fn merge(
    state: web::Data<AppState>,
    staff: FrontDeskUser,
    path: web::Path<i64>,
    body: web::Json<MergeBody>,
) -> Result<HttpResponse, ApiError> {
    let from = patient_from_path(path.into_inner())?;
    let into = patient_from_path(body.into)?;
    let actor = staff.actor();
    state
        .with_connection(move |conn| {
            db::write_transaction(conn, |conn| {
                patients::merge(conn, &actor, from, into, db::now())
            })
        })
        .await?;
    load_page(&state, into).await
}

/// `DELETE /api/v1/patients/{id}/duplicate-flag` (admin, front desk).
#[utoipa::path(
    delete,
    path = "/api/v1/patients/{id}/duplicate-flag",
    operation_id = "clearDuplicateFlag",
    summary = "Say a flagged patient is someone else",
    description = "Clears the possible-duplicate flag: the two records are two people.",
    tag = "patients",
    security(("staff_jwt" = [])),
    params(("id" = i64, Path, description = "The patient id", minimum = 1, maximum = 2147483647)),
    responses(
        (status = 204, description = "Cleared (or was not set)"),
        (status = 401),
        (status = 403),
        (status = 404, description = "No such patient"),
    ),
)]
pub(super) async fn clear_flag(
    state: web::Data<AppState>,
    staff: FrontDeskUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = patient_from_path(path.into_inner())?;
    let actor = staff.actor();
    state
        .with_connection(move |conn| {
            db::write_transaction(conn, |conn| {
                patients::not_a_duplicate(conn, &actor, id, db::now())
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"body": "Running 10 minutes late"}))]
pub(super) struct NoteBody {
    /// 1 to 500 characters. Staff only: never sent to the patient, never logged.
    #[schema(min_length = 1, max_length = 500)]
    body: String,
}

async fn add_note(
    state: &AppState,
    actor: crate::domain::actor::Actor,
    about: impl FnOnce() -> Result<AboutOwned, ApiError>,
    body: String,
) -> Result<HttpResponse, ApiError> {
    let about = about()?;
    let note = state
        .with_connection(move |conn| {
            db::write_transaction(conn, |conn| {
                let about = match &about {
                    AboutOwned::Patient(id) => About::Patient(*id),
                    AboutOwned::Booking(reference) => About::Booking(reference.as_str()),
                };
                notes::add(conn, &actor, about, &body, db::now())
            })
        })
        .await?;
    let body = serde_json::to_string(&NoteJson::from(&note)).map_err(anyhow::Error::from)?;
    Ok(HttpResponse::Created()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

enum AboutOwned {
    Patient(PatientId),
    Booking(String),
}

/// `POST /api/v1/patients/{id}/notes` (any staff).
#[utoipa::path(
    post,
    path = "/api/v1/patients/{id}/notes",
    operation_id = "addPatientNote",
    summary = "Note something about a patient",
    description = "A staff note about the patient (\"needs an interpreter\"): on their page and on \
the day sheet with each of their visits. Never sent to the patient, never logged; the audit records \
who wrote it, not what it says.",
    tag = "patients",
    security(("staff_jwt" = [])),
    params(("id" = i64, Path, description = "The patient id", minimum = 1, maximum = 2147483647)),
    request_body = NoteBody,
    responses(
        (status = 201, description = "Written", body = NoteJson),
        (status = 400),
        (status = 401),
        (status = 403),
        (status = 404, description = "No such patient"),
        (status = 413),
        (status = 422),
    ),
)]
pub(super) async fn add_patient_note(
    state: web::Data<AppState>,
    staff: AnyStaff,
    path: web::Path<i64>,
    body: web::Json<NoteBody>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let about = move || Ok(AboutOwned::Patient(patient_from_path(id)?));
    add_note(&state, staff.actor(), about, body.into_inner().body).await
}

/// `POST /api/v1/bookings/{reference}/notes` (any staff).
#[utoipa::path(
    post,
    path = "/api/v1/bookings/{reference}/notes",
    operation_id = "addBookingNote",
    summary = "Note something about a visit",
    description = "A staff note about one visit (\"running 10 minutes late\"): on the day sheet with \
it and on the patient's page. Never sent to the patient, never logged.",
    tag = "patients",
    security(("staff_jwt" = [])),
    params(("reference" = String, Path, description = "The booking reference", max_length = 13, pattern = "^BK-[0-9A-Z]{10}$")),
    request_body = NoteBody,
    responses(
        (status = 201, description = "Written", body = NoteJson),
        (status = 400),
        (status = 401),
        (status = 403),
        (status = 404, description = "No such booking"),
        (status = 413),
        (status = 422),
    ),
)]
pub(super) async fn add_booking_note(
    state: web::Data<AppState>,
    staff: AnyStaff,
    path: web::Path<String>,
    body: web::Json<NoteBody>,
) -> Result<HttpResponse, ApiError> {
    let reference = path.into_inner();
    let about = move || {
        let reference =
            BookingReference::parse(&reference).ok_or_else(|| ApiError::not_found("booking"))?;
        Ok(AboutOwned::Booking(reference.as_str().to_owned()))
    };
    add_note(&state, staff.actor(), about, body.into_inner().body).await
}

/// `PATCH /api/v1/notes/{id}` (any staff).
#[utoipa::path(
    patch,
    path = "/api/v1/notes/{id}",
    operation_id = "updateNote",
    summary = "Change a note",
    description = "Replaces the note's text; the audit records who changed it and when.",
    tag = "patients",
    security(("staff_jwt" = [])),
    params(("id" = i64, Path, description = "The note id", minimum = 1, maximum = 2147483647)),
    request_body = NoteBody,
    responses(
        (status = 200, description = "Changed", body = NoteJson),
        (status = 400),
        (status = 401),
        (status = 403),
        (status = 404, description = "No such note"),
        (status = 413),
        (status = 422),
    ),
)]
pub(super) async fn update_note(
    state: web::Data<AppState>,
    staff: AnyStaff,
    path: web::Path<i64>,
    body: web::Json<NoteBody>,
) -> Result<HttpResponse, ApiError> {
    let id = note_from_path(path.into_inner())?;
    let actor = staff.actor();
    let text = body.into_inner().body;
    let note = state
        .with_connection(move |conn| {
            db::write_transaction(conn, |conn| {
                notes::change(conn, &actor, id, &text, db::now())
            })
        })
        .await?;
    json_body(&NoteJson::from(&note))
}

/// `DELETE /api/v1/notes/{id}` (any staff).
#[utoipa::path(
    delete,
    path = "/api/v1/notes/{id}",
    operation_id = "deleteNote",
    summary = "Delete a note",
    description = "Removes the note; the audit records who deleted it.",
    tag = "patients",
    security(("staff_jwt" = [])),
    params(("id" = i64, Path, description = "The note id", minimum = 1, maximum = 2147483647)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401),
        (status = 403),
        (status = 404, description = "No such note"),
    ),
)]
pub(super) async fn delete_note(
    state: web::Data<AppState>,
    staff: AnyStaff,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = note_from_path(path.into_inner())?;
    let actor = staff.actor();
    state
        .with_connection(move |conn| {
            db::write_transaction(conn, |conn| notes::delete(conn, &actor, id, db::now()))
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /api/v1/admin/patients/{id}/export` (admin).
#[utoipa::path(
    get,
    path = "/api/v1/admin/patients/{id}/export",
    operation_id = "exportPatient",
    summary = "Everything held about a patient",
    description = "The right of access (HIPAA) and to a copy (GDPR): the record and those merged into \
it, every booking with its intake, the staff notes, the mails and text messages about the bookings, \
webhook deliveries, waitlist entries with the patient's address, and the audit entries about all of \
these, as one JSON document. The export itself is audited (by record id).",
    tag = "patients",
    security(("staff_jwt" = [])),
    params(("id" = i64, Path, description = "The patient id", minimum = 1, maximum = 2147483647)),
    responses(
        (status = 200, description = "The patient's data", body = Object, content_type = "application/json"),
        (status = 401),
        (status = 403),
        (status = 404, description = "No such patient"),
        (status = 422, description = "The record was merged into another; export that one"),
    ),
)]
pub(super) async fn export(
    state: web::Data<AppState>,
    staff: AdminUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = patient_from_path(path.into_inner())?;
    let actor = staff.actor();
    let document = state
        .with_connection(move |conn| {
            db::write_transaction(conn, |conn| privacy::export(conn, &actor, id, db::now()))
        })
        .await?;
    let body = serde_json::to_string_pretty(&document).map_err(anyhow::Error::from)?;
    Ok(private_json(body))
}

/// `POST /api/v1/admin/patients/{id}/erase` (admin).
#[utoipa::path(
    post,
    path = "/api/v1/admin/patients/{id}/erase",
    operation_id = "erasePatient",
    summary = "Erase a patient's personal data",
    description = "The right to erasure (GDPR): the patient's name, email, phone, date of birth, \
intake, reasons and notes are replaced by a tombstone in every place they are stored (bookings, \
the record and those merged into it, notes, mails and texts waiting or sent, webhook deliveries, \
idempotency records, waitlist entries, stored copies of sent mail); times, statuses, sources, \
visit types and providers stay, so the reports still count the visits. Refused (409, listing them) \
while visits are booked ahead. Audited by record id, without personal data. Erasing an erased \
record changes nothing.",
    tag = "patients",
    security(("staff_jwt" = [])),
    params(("id" = i64, Path, description = "The patient id", minimum = 1, maximum = 2147483647)),
    responses(
        (status = 200, description = "Erased; how many rows of each kind changed", body = Object,
         example = json!({"bookings": 3, "notes": 1, "mails": 0, "text_messages": 0, "webhook_deliveries": 0,
            "idempotency_records": 2, "waitlist_entries": 0, "audit_entries": 0, "mail_files": 4})),
        (status = 401),
        (status = 403),
        (status = 404, description = "No such patient"),
        (status = 409, description = "Visits are booked ahead; see `bookings`"),
        (status = 422, description = "The record was merged into another; erase that one"),
    ),
)]
pub(super) async fn erase(
    state: web::Data<AppState>,
    staff: AdminUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = patient_from_path(path.into_inner())?;
    let actor = staff.actor();
    let erasure = state
        .with_connection(move |conn| {
            db::write_transaction(conn, |conn| privacy::erase(conn, &actor, id, db::now()))
        })
        .await?;
    let mail = state.settings.mail.clone();
    let (emails, markers) = (erasure.emails.clone(), erasure.markers.clone());
    let files = web::block(move || crate::mail::erase_stored_copies(&mail, &emails, &markers))
        .await
        .map_err(anyhow::Error::from)?
        .map_err(anyhow::Error::from)?;
    let mut answer = serde_json::to_value(erasure.erased).map_err(anyhow::Error::from)?;
    answer["mail_files"] = json!(files);
    json_body(&answer)
}
