//! FHIR `Appointment` and `Patient`: bookings as an EHR reads, searches, makes and cancels them.
//!
//! An `Appointment` is a booking; its id is the booking reference (`BK-…`). Creating one books
//! through `appointments::book`, the operation behind `POST /api/v1/bookings`: the same atomic
//! claim, booking rules, confirmation mail and audit entry. Updating its `status` cancels, checks
//! in, completes or marks a no-show through `appointments::set_status`; nothing else changes by
//! update. Reading and searching are for staff; a booking's manage token reads (and cancels) its
//! own `Appointment`.
//!
//! A `Patient` is the patient as a booking names them (the clinic keeps no patient records
//! apart from bookings yet): its id is that booking's reference, and the visits booked under the
//! same email address are that patient's (`Appointment?patient=`), as the booking rules count
//! them.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Value};

use super::{
    base, fhir_json, instant, only, params, parse_slot_id, reference, search_id, searchset,
    self_url, slot_id, start_bound, visit_type_concept, FhirError, FhirResult, FHIR_JSON,
};
use crate::clinic::appointments::{self, BookingDetails, Intake};
use crate::clinic::locations::{self, Directory};
use crate::db::bookings::{self as stored, Booking, BookingFilter};
use crate::db::{self, slots, DbConnection};
use crate::domain::actor::Actor;
use crate::domain::booking::{BookingReference, BookingSource, BookingStatus};
use crate::domain::ids::{LocationId, ProviderId, SlotId, VisitTypeId};
use crate::domain::patient::{DateOfBirth, Patient, PatientInput};
use crate::domain::FieldErrors;
use crate::error::ApiError;
use crate::idempotency;
use crate::routes::access::{AllRoles, BookingAccess, MaybeStaff};
use crate::routes::bookings::booking_counted;
use crate::state::AppState;

/// Where booking references are identifiers (`Appointment.identifier`).
const BOOKING_REFERENCE_SYSTEM: &str =
    "https://clinic-booking.dev/fhir/NamingSystem/booking-reference";

/// The extension a created `Appointment` carries once: the manage token, the patient's key to
/// read and cancel it (as `manage_token` in `POST /api/v1/bookings`' answer).
const MANAGE_TOKEN_EXTENSION: &str =
    "https://clinic-booking.dev/fhir/StructureDefinition/manage-token";

/// Where a booking made through FHIR by a patient's app comes from.
const FHIR_SOURCE: &str = "fhir";

/// An `Appointment` or `Patient` search answers at most this many per page, 50 by default.
const MAX_COUNT: usize = 500;
const DEFAULT_COUNT: usize = 50;

/// The FHIR `AppointmentStatus` of a booking status.
fn fhir_status(status: BookingStatus) -> &'static str {
    match status {
        BookingStatus::Booked => "booked",
        BookingStatus::Arrived => "arrived",
        BookingStatus::Completed => "fulfilled",
        BookingStatus::Cancelled => "cancelled",
        BookingStatus::NoShow => "noshow",
    }
}

fn status_from_fhir(code: &str) -> Option<BookingStatus> {
    BookingStatus::ALL
        .into_iter()
        .find(|s| fhir_status(*s) == code)
}

/// A booking as an `Appointment`: when and where, with whom, for which visit type, and the
/// slot it holds (read at `/fhir/Slot/…`, `busy` while it is booked).
pub(super) fn appointment(details: &BookingDetails) -> Value {
    let booking = &details.booking;
    let tz = details.location.timezone.tz();
    let start = details.slot.starts_at;
    let end = details.slot.ends_at;
    let mut resource = json!({
        "resourceType": "Appointment",
        "id": booking.reference,
        "identifier": [{"system": BOOKING_REFERENCE_SYSTEM, "value": booking.reference}],
        "status": fhir_status(booking.status),
        "start": instant(start, tz),
        "end": instant(end, tz),
        "minutesDuration": (end - start).num_minutes().max(1),
        "slot": [{"reference": format!("Slot/{}", slot_id(booking.slot_id, booking.visit_type_id))}],
        "created": instant(booking.created_at, tz),
        "participant": [
            {
                "actor": {"reference": format!("Patient/{}", booking.reference), "display": booking.patient_name},
                "required": "required",
                "status": "accepted",
            },
            {
                "actor": {"reference": format!("Practitioner/{}", details.provider.id), "display": details.provider.name},
                "required": "required",
                "status": "accepted",
            },
            {
                "actor": {"reference": format!("Location/{}", details.location.id), "display": details.location.name},
                "required": "required",
                "status": "accepted",
            },
        ],
    });
    if let Some(visit_type) = &details.visit_type {
        resource["serviceType"] = json!([visit_type_concept(visit_type)]);
    }
    if let Some(reason) = booking.reason.as_deref().filter(|r| !r.is_empty()) {
        resource["reasonCode"] = json!([{"text": reason}]);
    }
    resource
}

/// The patient a booking names, as a `Patient` whose id is the booking's reference.
fn patient(booking: &Booking) -> Value {
    let mut telecom = vec![json!({"system": "email", "value": booking.patient_email})];
    if let Some(phone) = booking.patient_phone.as_deref().filter(|p| !p.is_empty()) {
        telecom.push(json!({"system": "phone", "value": phone}));
    }
    let mut resource = json!({
        "resourceType": "Patient",
        "id": booking.reference,
        "name": [{"text": booking.patient_name}],
        "telecom": telecom,
    });
    if let Some(born) = booking.patient_date_of_birth {
        resource["birthDate"] = json!(born.to_string());
    }
    resource
}

/// What a token opens here: staff read and search everything; a manage token reads its own
/// booking (as an `Appointment` or its `Patient`) and nothing else: 403 for the rest. No token is
/// a 401 (the extractor's).
fn reader_for(
    access: Result<BookingAccess<AllRoles>, ApiError>,
    own: Option<&BookingReference>,
) -> Result<Actor, FhirError> {
    match access? {
        BookingAccess::Staff(identity, _) => Ok(Actor::Staff(identity)),
        BookingAccess::Manage(reference) if Some(&reference) == own => {
            Ok(Actor::ManageToken(reference))
        }
        BookingAccess::Manage(_) => Err(ApiError::Forbidden(
            "a manage token opens its own booking only; this needs a staff token".into(),
        )
        .into()),
    }
}

fn booking_reference(id: &str, what: &str) -> Result<BookingReference, FhirError> {
    BookingReference::parse(id).ok_or_else(|| ApiError::not_found(what).into())
}

fn private(mut response: HttpResponse) -> HttpResponse {
    // It holds patient details: no cache keeps it.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

pub(super) async fn read_appointment(
    state: web::Data<AppState>,
    access: Result<BookingAccess<AllRoles>, ApiError>,
    path: web::Path<String>,
) -> FhirResult {
    let reference = booking_reference(&path, "Appointment")?;
    reader_for(access, Some(&reference))?;
    let details = state
        .with_connection(move |conn| appointments::load(conn, &reference))
        .await
        .map_err(|e| not_found_as(e, "Appointment"))?;
    Ok(private(fhir_json(&appointment(&details))))
}

/// A clinic error's "booking not found" as the FHIR resource's.
fn not_found_as(error: ApiError, what: &str) -> FhirError {
    match error {
        ApiError::NotFound(_) => ApiError::not_found(what).into(),
        other => other.into(),
    }
}

pub(super) async fn read_patient(
    state: web::Data<AppState>,
    access: Result<BookingAccess<AllRoles>, ApiError>,
    path: web::Path<String>,
) -> FhirResult {
    let reference = booking_reference(&path, "Patient")?;
    reader_for(access, Some(&reference))?;
    let booking = state
        .with_connection(move |conn| stored::find_by_reference(conn, reference.as_str()))
        .await?
        .ok_or_else(|| ApiError::not_found("Patient"))?;
    Ok(private(fhir_json(&patient(&booking))))
}

/// `_count` and `_offset`, the paging every search here takes.
fn page_param(name: &str, value: &str, page: &mut (usize, usize)) -> Result<(), FhirError> {
    match name {
        "_count" => {
            page.0 = value
                .parse::<usize>()
                .ok()
                .filter(|c| (1..=MAX_COUNT).contains(c))
                .ok_or_else(|| ApiError::BadRequest(format!("`_count` is 1 to {MAX_COUNT}")))?;
        }
        "_offset" => {
            page.1 = value
                .parse::<usize>()
                .ok()
                .filter(|o| *o <= 1_000_000)
                .ok_or_else(|| ApiError::BadRequest("`_offset` is 0 to 1000000".into()))?;
        }
        _ => {}
    }
    Ok(())
}

/// The link to the page after `(count, offset)`: the same search, `_offset` on.
fn next_page(
    state: &AppState,
    kind: &str,
    params: &[(String, String)],
    (count, offset): (usize, usize),
) -> String {
    let mut next: Vec<(String, String)> = params
        .iter()
        .filter(|(name, _)| name != "_offset")
        .cloned()
        .collect();
    next.push(("_offset".into(), (offset + count).to_string()));
    format!(
        "{}/{kind}?{}",
        base(state),
        serde_urlencoded::to_string(&next).unwrap_or_default()
    )
}

/// A page of a search: its bundle, `next` when there is more, `total` only on a whole answer.
fn page_bundle(
    state: &AppState,
    req: &HttpRequest,
    kind: &str,
    params: &[(String, String)],
    resources: Vec<Value>,
    more: bool,
    page: (usize, usize),
) -> HttpResponse {
    let next = more.then(|| next_page(state, kind, params, page));
    let mut bundle = searchset(&base(state), resources, &self_url(state, req), next);
    if page.1 > 0 {
        if let Some(object) = bundle.as_object_mut() {
            object.remove("total");
        }
    }
    private(fhir_json(&bundle))
}

/// The booking a `patient` parameter names (`Patient/BK-…`), or none if it names nothing.
fn patient_email(conn: &mut DbConnection, value: &str) -> Result<Option<String>, ApiError> {
    let id = reference(value).map_or(value, |(_, id)| id);
    let Some(reference) = BookingReference::parse(id) else {
        return Err(ApiError::BadRequest(format!(
            "`patient` {value:?} is not a Patient reference"
        )));
    };
    Ok(stored::find_by_reference(conn, reference.as_str())?.map(|b| b.patient_email))
}

/// `GET /fhir/Appointment?date=&practitioner=&location=&status=&patient=&identifier=`, staff only.
pub(super) async fn search_appointments(
    state: web::Data<AppState>,
    req: HttpRequest,
    access: Result<BookingAccess<AllRoles>, ApiError>,
) -> FhirResult {
    reader_for(access, None)?;
    let params = params(&req)?;
    only(
        &params,
        &[
            "date",
            "practitioner",
            "location",
            "status",
            "patient",
            "identifier",
            "_count",
            "_offset",
        ],
    )?;
    let tz = state.settings.clinic.timezone;
    let mut filter = BookingFilter::default();
    let mut location: Option<LocationId> = None;
    let mut patient: Option<String> = None;
    let mut page = (DEFAULT_COUNT, 0usize);
    let mut none = false;
    for (name, value) in &params {
        match name.as_str() {
            "date" => {
                let (prefix, (lo, hi)) = start_bound("date", value, tz)?;
                let (lo, hi) = (lo.naive_utc(), hi.naive_utc());
                let (from, until) = match prefix {
                    "ge" => (Some(lo), None),
                    "gt" => (Some(hi), None),
                    "lt" => (None, Some(lo)),
                    "le" => (None, Some(hi)),
                    _ => (Some(lo), Some(hi)),
                };
                filter.from = filter.from.max(from);
                filter.until = match (filter.until, until) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            "practitioner" => {
                let id = reference(value).map_or(value.as_str(), |(_, id)| id);
                filter.provider_id = Some(search_id::<ProviderId>(id, "Practitioner")?);
            }
            "location" => {
                let id = reference(value).map_or(value.as_str(), |(_, id)| id);
                location = Some(search_id(id, "Location")?);
            }
            "status" => {
                let named: Vec<BookingStatus> = value
                    .split(',')
                    .filter_map(|code| status_from_fhir(code.trim()))
                    .collect();
                // Only statuses no booking has (`proposed`, `pending`, ...): nothing.
                none = none || named.is_empty();
                filter.statuses.extend(named);
            }
            "patient" => patient = Some(value.clone()),
            "identifier" => {
                let code = value.rsplit('|').next().unwrap_or_default();
                match BookingReference::parse(code) {
                    Some(reference) => filter.reference = Some(reference.as_str().to_owned()),
                    None => none = true,
                }
            }
            other => page_param(other, value, &mut page)?,
        }
    }
    let (count, offset) = page;
    filter.limit = Some(i64::try_from(count + 1).unwrap_or(i64::MAX));
    filter.offset = i64::try_from(offset).unwrap_or(i64::MAX);
    let (resources, more) = state
        .with_connection(move |conn| {
            if let Some(value) = patient {
                match patient_email(conn, &value)? {
                    Some(email) => filter.email = Some(email),
                    None => none = true,
                }
            }
            if let Some(id) = location {
                match locations::place(conn, id) {
                    Ok(place) => filter.place = Some(place),
                    Err(crate::clinic::ClinicError::NotFound(_)) => none = true,
                    Err(e) => return Err(e.into()),
                }
            }
            if none {
                return Ok::<_, ApiError>((Vec::new(), false));
            }
            let rows = stored::search(conn, &filter)?;
            let more = rows.len() > count;
            let directory = Directory::load(conn)?;
            let visit_types = db::visit_types::list(conn, false)?;
            let resources = rows
                .into_iter()
                .take(count)
                .map(|(booking, slot, provider)| {
                    let visit_type = visit_types
                        .iter()
                        .find(|v| Some(v.id) == booking.visit_type_id)
                        .cloned();
                    let location = directory.of(slot.location_id).clone();
                    appointment(&BookingDetails::new(
                        booking, slot, provider, visit_type, location,
                    ))
                })
                .collect();
            Ok((resources, more))
        })
        .await?;
    Ok(page_bundle(
        &state,
        &req,
        "Appointment",
        &params,
        resources,
        more,
        page,
    ))
}

/// `GET /fhir/Patient?email=&name=&birthdate=`, staff only: one `Patient` per email address,
/// as their newest booking names them.
pub(super) async fn search_patients(
    state: web::Data<AppState>,
    req: HttpRequest,
    access: Result<BookingAccess<AllRoles>, ApiError>,
) -> FhirResult {
    reader_for(access, None)?;
    let params = params(&req)?;
    only(
        &params,
        &["email", "name", "birthdate", "_count", "_offset"],
    )?;
    let mut email = None;
    let mut name = None;
    let mut born = None;
    let mut page = (DEFAULT_COUNT, 0usize);
    for (param, value) in &params {
        match param.as_str() {
            "email" => email = Some(value.trim().to_owned()),
            "name" => name = Some(value.trim().to_owned()),
            "birthdate" => {
                let date = value.strip_prefix("eq").unwrap_or(value);
                born = Some(
                    NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d").map_err(|_| {
                        ApiError::BadRequest("`birthdate` is a date, YYYY-MM-DD".into())
                    })?,
                );
            }
            other => page_param(other, value, &mut page)?,
        }
    }
    if email.is_none() && name.is_none() && born.is_none() {
        return Err(ApiError::BadRequest(
            "search patients by `email`, `name` or `birthdate`".into(),
        )
        .into());
    }
    let (count, offset) = page;
    let (resources, more) = state
        .with_connection(move |conn| {
            let found = stored::patients_matching(conn, email.as_deref(), name.as_deref(), born)?;
            let mut bookings = Vec::new();
            let more = found.len() > offset + count;
            for id in found.into_iter().skip(offset).take(count) {
                if let Some(booking) = stored::find_by_id(conn, id)? {
                    bookings.push(patient(&booking));
                }
            }
            Ok::<_, ApiError>((bookings, more))
        })
        .await?;
    Ok(page_bundle(
        &state, &req, "Patient", &params, resources, more, page,
    ))
}

/// A request's resource: `application/fhir+json` (or `application/json`) of `kind`.
fn read_resource(req: &HttpRequest, body: &[u8], kind: &str) -> Result<Value, FhirError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if essence != "application/fhir+json" && essence != "application/json" {
        return Err(ApiError::Status(StatusCode::UNSUPPORTED_MEDIA_TYPE).into());
    }
    let resource: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("the body is not a JSON resource: {e}")))?;
    if resource["resourceType"] != kind {
        return Err(ApiError::BadRequest(format!("the body must be an {kind} resource")).into());
    }
    Ok(resource)
}

/// The time a booking through FHIR names.
enum Time {
    /// A `Slot` (`Slot/{slot}` or `Slot/{slot}.{visit type}`).
    Slot(SlotId),
    /// A start with the practitioner (and the location) it is with.
    Start(ProviderId, DateTime<Utc>, Option<LocationId>),
}

/// Who the visit is for.
enum Whom {
    /// The patient contained in the `Appointment`.
    Contained(Patient),
    /// The patient of an earlier booking (`Patient/BK-…`): staff only.
    Known(BookingReference),
}

/// What an `Appointment` to create asks for.
struct Request {
    time: Time,
    visit_type_id: Option<VisitTypeId>,
    whom: Whom,
    reason: Option<String>,
}

/// Reads the `Appointment` to create; every problem found is named at once (422).
fn booking_request(resource: &Value) -> Result<Request, FhirError> {
    let mut errors = FieldErrors::default();
    let today = Utc::now().date_naive();
    if resource["status"] != "booked" {
        errors.add(
            "Appointment.status",
            "an Appointment is created `booked` (it books the time at once)",
        );
    }
    let text = |value: &Value| value.as_str().map(str::to_owned);
    let service: Option<VisitTypeId> = resource["serviceType"]
        .as_array()
        .and_then(|types| types.first())
        .and_then(|concept| concept["coding"].as_array())
        .and_then(|codings| {
            codings
                .iter()
                .find(|c| c["system"] == super::VISIT_TYPE_SYSTEM)
        })
        .and_then(|coding| {
            let id = coding["code"].as_str().and_then(|c| c.parse::<i64>().ok());
            let parsed = id.and_then(|id| VisitTypeId::try_from(id).ok());
            if parsed.is_none() {
                errors.add("Appointment.serviceType", "is not a visit type's code");
            }
            parsed
        });
    let actors: Vec<String> = resource["participant"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter_map(|p| text(&p["actor"]["reference"]))
                .collect()
        })
        .unwrap_or_default();
    let named = |kind: &str| {
        actors.iter().find_map(|r| {
            reference(r)
                .filter(|(k, _)| *k == kind)
                .map(|(_, id)| id.to_owned())
        })
    };
    let slots: Vec<String> = resource["slot"]
        .as_array()
        .map(|all| all.iter().filter_map(|s| text(&s["reference"])).collect())
        .unwrap_or_default();
    let mut visit_type_id = service;
    let time = match slots.as_slice() {
        [one] => match reference(one)
            .filter(|(kind, _)| *kind == "Slot")
            .and_then(|(_, id)| parse_slot_id(id))
        {
            Some((slot, of_type)) => {
                if let (Some(a), Some(b)) = (of_type, service) {
                    if a != b {
                        errors.add(
                            "Appointment.serviceType",
                            "is not the visit type of the Slot named",
                        );
                    }
                }
                visit_type_id = visit_type_id.or(of_type);
                Some(Time::Slot(slot))
            }
            None => {
                errors.add("Appointment.slot", "is not a Slot reference (`Slot/{id}`)");
                None
            }
        },
        [] => {
            let start =
                text(&resource["start"]).and_then(|s| DateTime::parse_from_rfc3339(&s).ok());
            let provider = named("Practitioner")
                .and_then(|id| id.parse::<i64>().ok())
                .and_then(|id| ProviderId::try_from(id).ok());
            let location = named("Location").map(|id| {
                id.parse::<i64>()
                    .ok()
                    .and_then(|id| LocationId::try_from(id).ok())
            });
            if start.is_none() {
                errors.add("Appointment.start", "name a `slot`, or a `start` (an instant with its offset) and a Practitioner participant");
            }
            if provider.is_none() {
                errors.add("Appointment.participant", "name a `slot`, or a `start` and a Practitioner participant (`Practitioner/{id}`)");
            }
            if location == Some(None) {
                errors.add(
                    "Appointment.participant",
                    "the Location participant is not `Location/{id}`",
                );
            }
            match (start, provider) {
                (Some(start), Some(provider)) => Some(Time::Start(
                    provider,
                    start.with_timezone(&Utc),
                    location.flatten(),
                )),
                _ => None,
            }
        }
        _ => {
            errors.add("Appointment.slot", "book one Slot at a time");
            None
        }
    };
    let whom = match named("Patient") {
        Some(id) => match BookingReference::parse(&id) {
            Some(reference) => Some(Whom::Known(reference)),
            None => {
                errors.add(
                    "Appointment.participant",
                    "the Patient participant is not `Patient/{id}`",
                );
                None
            }
        },
        None => match actors.iter().find(|r| r.starts_with('#')) {
            Some(local) => {
                contained_patient(resource, &local[1..], today, &mut errors).map(Whom::Contained)
            }
            None => {
                errors.add(
                    "Appointment.participant",
                    "name the patient: a contained Patient (`#id`) or `Patient/{id}`",
                );
                None
            }
        },
    };
    let reason = resource["reasonCode"]
        .as_array()
        .and_then(|codes| codes.first())
        .and_then(|code| text(&code["text"]))
        .or_else(|| text(&resource["description"]));
    let reason = reason.and_then(|r| {
        errors
            .check(
                "Appointment.reasonCode",
                crate::domain::booking::parse_reason(&r),
            )
            .flatten()
    });
    match (time, whom) {
        (Some(time), Some(whom)) if errors.is_empty() => Ok(Request {
            time,
            visit_type_id,
            whom,
            reason,
        }),
        _ => Err(ApiError::from(errors).into()),
    }
}

/// The patient contained in the `Appointment` under `id`: `name` (its `text`, or given and
/// family names), an `email` in `telecom`, optionally a `phone` and `birthDate`.
fn contained_patient(
    resource: &Value,
    id: &str,
    today: NaiveDate,
    errors: &mut FieldErrors,
) -> Option<Patient> {
    let Some(found) = resource["contained"].as_array().and_then(|all| {
        all.iter()
            .find(|r| r["resourceType"] == "Patient" && r["id"] == id)
    }) else {
        errors.add(
            "Appointment.contained",
            format!("no contained Patient `{id}`"),
        );
        return None;
    };
    let name = &found["name"][0];
    let full = name["text"].as_str().map(str::to_owned).unwrap_or_else(|| {
        let given: Vec<&str> = name["given"]
            .as_array()
            .map(|g| g.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let family = name["family"].as_str().unwrap_or_default();
        format!("{} {family}", given.join(" ")).trim().to_owned()
    });
    let telecom = |system: &str| {
        found["telecom"].as_array().and_then(|all| {
            all.iter()
                .find(|t| t["system"] == system)
                .and_then(|t| t["value"].as_str())
        })
    };
    let mut found_errors = FieldErrors::default();
    let patient = Patient::parse(
        PatientInput {
            name: &full,
            email: telecom("email").unwrap_or_default(),
            phone: telecom("phone"),
            date_of_birth: found["birthDate"].as_str(),
            sms_consent: false,
            language: Default::default(),
        },
        today,
        &mut found_errors,
    );
    for (field, message) in found_errors.into_map() {
        let field = match field.as_str() {
            "patient.name" => "Patient.name",
            "patient.email" => "Patient.telecom.where(system='email')",
            "patient.phone" => "Patient.telecom.where(system='phone')",
            _ => "Patient.birthDate",
        };
        errors.add(field, message);
    }
    patient
}

/// The patient an earlier booking names, to book again for them.
fn known_patient(
    conn: &mut DbConnection,
    reference: &BookingReference,
) -> Result<Patient, ApiError> {
    let booking = stored::find_by_reference(conn, reference.as_str())?
        .ok_or_else(|| ApiError::invalid("Appointment.participant", "no such Patient"))?;
    let today = Utc::now().date_naive();
    let mut errors = FieldErrors::default();
    let born = booking
        .patient_date_of_birth
        .and_then(|d| DateOfBirth::new(d, today).ok())
        .map(|d| d.date().to_string());
    Patient::parse(
        PatientInput {
            name: &booking.patient_name,
            email: &booking.patient_email,
            phone: booking.patient_phone.as_deref(),
            date_of_birth: born.as_deref(),
            sms_consent: booking.sms_consent,
            language: booking.language,
        },
        today,
        &mut errors,
    )
    .ok_or_else(|| errors.into())
}

/// `POST /fhir/Appointment`: books, through the same operation as `POST /api/v1/bookings`.
/// `Idempotency-Key` replays the first answer for the same body; `If-None-Exist` answers the
/// Appointment its criteria created within the last day (200) instead of booking again.
pub(super) async fn create_appointment(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Result<MaybeStaff, ApiError>,
    body: web::Bytes,
) -> FhirResult {
    let staff = staff?.0;
    let resource = read_resource(&req, &body, "Appointment")?;
    let request = booking_request(&resource)?;
    if matches!(request.whom, Whom::Known(_)) && staff.is_none() {
        return Err(ApiError::Forbidden(
            "booking for a Patient by reference needs a staff token; a patient's app contains the Patient"
                .into(),
        )
        .into());
    }
    let actor = staff.map_or(Actor::Public, Actor::Staff);
    let source = if actor.is_staff() {
        BookingSource::named(BookingSource::FRONT_DESK)
    } else {
        BookingSource::named(FHIR_SOURCE)
    };
    let if_none_exist = req
        .headers()
        .get("If-None-Exist")
        .map(|v| {
            v.to_str()
                .ok()
                .map(str::trim)
                .filter(|c| !c.is_empty() && c.len() <= 200)
                .map(str::to_owned)
                .ok_or_else(|| {
                    ApiError::BadRequest(
                        "If-None-Exist is search criteria, up to 200 characters".into(),
                    )
                })
        })
        .transpose()?;
    let (key, scope, fingerprint) = match if_none_exist {
        Some(criteria) => {
            if req.headers().contains_key(idempotency::HEADER) {
                return Err(ApiError::BadRequest(
                    "send If-None-Exist or Idempotency-Key, not both".into(),
                )
                .into());
            }
            // The key has a space, which no Idempotency-Key can: neither can stand for the other.
            let key = format!("if-none-exist {criteria}");
            // For staff (who read every booking anyway) the criteria alone identify the
            // request: a match answers, whatever the body. A public caller's match must be
            // the same request, body and all, or it would hand one patient's booking (and its
            // manage token) to whoever guessed the criteria.
            let fingerprint = if actor.is_staff() {
                Value::String(criteria)
            } else {
                json!([criteria, resource])
            };
            (Some(key), conditional_scope(&actor), fingerprint)
        }
        None => (idempotency::key_of(&req)?, create_scope(&actor), resource),
    };
    let policy = state.policy.clone();
    let app = state.clone();
    let answer = idempotency::run_once_keyed(
        key,
        &state,
        scope,
        &fingerprint,
        StatusCode::CREATED,
        idempotency::NO_SCREEN,
        move |conn, now| {
            let Request {
                time,
                visit_type_id,
                whom,
                reason,
            } = request;
            let slot = match time {
                Time::Slot(slot) => slot,
                Time::Start(provider, start, location) => {
                    let place = match location {
                        Some(id) => Some(locations::place(conn, id)?),
                        None => None,
                    };
                    slots::starting_at(conn, provider, start.naive_utc(), place)?
                        .ok_or_else(|| ApiError::not_found("Slot at that start"))?
                }
            };
            let patient = match whom {
                Whom::Contained(patient) => patient,
                Whom::Known(reference) => known_patient(conn, &reference)?,
            };
            let intake = Intake {
                patient,
                reason,
                source,
                concern: None,
                visit_type_id,
                series_id: None,
                hold: None,
            };
            let details = appointments::book(conn, slot, &intake, &actor, &policy, None, now)?;
            let reference =
                BookingReference::parse(&details.booking.reference).ok_or_else(|| {
                    ApiError::Internal(anyhow::anyhow!("stored reference is malformed"))
                })?;
            let token = app
                .tokens
                .issue_manage_token(&reference, details.slot.ends_at.and_utc())?;
            let mut created = appointment(&details);
            created["extension"] = json!([{"url": MANAGE_TOKEN_EXTENSION, "valueString": token}]);
            Ok(created.to_string())
        },
    )
    .await;
    let answer = booking_counted(&state, answer)?;
    let id = serde_json::from_str::<Value>(&answer.body)
        .ok()
        .and_then(|v| v["id"].as_str().map(str::to_owned))
        .unwrap_or_default();
    // A conditional create that finds what its criteria made answers 200.
    let status = if !answer.fresh && req.headers().contains_key("If-None-Exist") {
        StatusCode::OK
    } else {
        answer.status
    };
    Ok(HttpResponse::build(status)
        .content_type(FHIR_JSON)
        .insert_header((
            header::LOCATION,
            format!("{}/Appointment/{id}", base(&state)),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(answer.body))
}

/// Keys of staff and public callers, and of the two kinds of request, kept apart.
fn create_scope(actor: &Actor) -> &'static str {
    if actor.is_staff() {
        "fhir:appointment:front_desk"
    } else {
        "fhir:appointment"
    }
}

fn conditional_scope(actor: &Actor) -> &'static str {
    if actor.is_staff() {
        "fhir:appointment:if-none-exist:front_desk"
    } else {
        "fhir:appointment:if-none-exist"
    }
}

/// What an update may not change: the time, the slot and who the visit is with. Each element
/// the client sends must say what the server holds.
fn unchanged(sent: &Value, held: &Value) -> Result<(), FhirError> {
    let instant = |v: &Value| {
        v.as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let changed = ["start", "end"]
        .into_iter()
        .find(|field| !sent[*field].is_null() && instant(&sent[*field]) != instant(&held[*field]))
        .or_else(|| {
            (!sent["slot"].is_null()
                && references_in(&sent["slot"], None) != references_in(&held["slot"], None))
            .then_some("slot")
        })
        .or_else(|| {
            let actors = |v: &Value| references_in(v, Some("actor"));
            (!sent["participant"].is_null()
                && actors(&sent["participant"]) != actors(&held["participant"]))
            .then_some("participant")
        });
    match changed {
        Some(field) => Err(ApiError::invalid(
            &format!("Appointment.{field}"),
            "only `status` changes by update (cancelled, arrived, fulfilled, noshow); to move a visit, book the new time and cancel this one",
        )
        .into()),
        None => Ok(()),
    }
}

/// The references in a list (of `key`'s member of each element), sorted, the patient's left
/// out (a contained patient names itself differently each time).
fn references_in(list: &Value, key: Option<&str>) -> Vec<String> {
    let mut found: Vec<String> = list
        .as_array()
        .map(|all| {
            all.iter()
                .map(|x| key.map_or(x, |k| &x[k]))
                .filter_map(|x| x["reference"].as_str().map(str::to_owned))
                .filter(|r| !r.starts_with("Patient/") && !r.starts_with('#'))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

/// `PUT /fhir/Appointment/{id}`: a change of `status`: `cancelled` (staff, or the booking's
/// manage token, under the booking rules' cut-off), `arrived`, `fulfilled` or `noshow` (staff).
pub(super) async fn update_appointment(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Result<BookingAccess<AllRoles>, ApiError>,
    path: web::Path<String>,
    body: web::Bytes,
) -> FhirResult {
    let reference = booking_reference(&path, "Appointment")?;
    let actor = reader_for(access, Some(&reference))?;
    let resource = read_resource(&req, &body, "Appointment")?;
    if resource["id"]
        .as_str()
        .and_then(BookingReference::parse)
        .as_ref()
        != Some(&reference)
    {
        return Err(
            ApiError::BadRequest("the resource's id must be the id in the URL".into()).into(),
        );
    }
    let code = resource["status"].as_str().unwrap_or_default().to_owned();
    let target = status_from_fhir(&code).ok_or_else(|| {
        ApiError::invalid(
            "Appointment.status",
            "an update sets status cancelled, arrived, fulfilled or noshow",
        )
    })?;
    if !actor.is_staff() && !matches!(target, BookingStatus::Cancelled) {
        return Err(ApiError::Forbidden(
            "a manage token may cancel its booking; other changes of status are the front desk's"
                .into(),
        )
        .into());
    }
    let policy = state.policy.clone();
    let (details, changed) = state
        .with_connection(move |conn| {
            db::write_transaction(conn, |conn| {
                let now = db::now();
                let current = appointments::load(conn, &reference)
                    .map_err(|e| not_found_as(e.into(), "Appointment"))
                    .map_err(|FhirError(e)| e)?;
                unchanged(&resource, &appointment(&current)).map_err(|FhirError(e)| e)?;
                if current.status() == target {
                    return Ok::<_, ApiError>((current, false));
                }
                let details =
                    appointments::set_status(conn, &reference, target, &actor, &policy, None, now)?;
                Ok((details, true))
            })
        })
        .await?;
    if changed && target == BookingStatus::Cancelled {
        state.metrics.booking_cancelled();
        state.wake_mail_worker();
    }
    Ok(private(fhir_json(&appointment(&details))))
}
