//! HL7 FHIR R4 (4.0.1) under `/fhir`: the clinic's providers, locations, visit types,
//! schedules and free time as `Practitioner`, `Location`, `HealthcareService`, `Schedule` and
//! `Slot`, read and searched in `application/fhir+json`, with errors as `OperationOutcome`. The
//! `CapabilityStatement` at `/fhir/metadata` lists exactly what is here.
//!
//! Ids: a `Practitioner` is a provider's id, a `Location` a location's, a `HealthcareService` a
//! visit type's; a `Schedule` is a provider at a location (`{provider}-{location}`); a `Slot` is
//! a free slot (`{slot}`), or, searched by `service-type`, a start where that visit type fits
//! (`{slot}.{visit type}`, ending where the visit would). Every reference an answer holds reads
//! at `/fhir/{reference}`. Times are instants with the location's offset.

mod appointments;
mod publish;

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde_json::{json, Value};

use crate::clinic::locations::{self, Directory};
use crate::clinic::{openings, rules};
use crate::db::locations::Location;
use crate::db::providers::{self, Provider};
use crate::db::slots::{self, AtLocation, OpenBetween, Slot};
use crate::db::visit_types::{self, VisitType};
use crate::db::{self, DbConnection};
use crate::domain::ids::{LocationId, ProviderId, SlotId, VisitTypeId};
use crate::error::ApiError;
use crate::state::AppState;

/// The media type of every answer here.
const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

/// Where the clinic's visit types are coded (`HealthcareService.type`, `Slot.serviceType`).
const VISIT_TYPE_SYSTEM: &str = "https://clinic-booking.dev/fhir/CodeSystem/visit-type";

/// The HL7 extension that names a location's time zone.
const TIMEZONE_EXTENSION: &str = "http://hl7.org/fhir/StructureDefinition/timezone";

/// A `Slot` search answers at most this many per page (`_count`), 50 by default.
const MAX_COUNT: usize = 500;
const DEFAULT_COUNT: usize = 50;

/// How far ahead a `Slot` search without an upper `start` bound looks: the booking horizon's
/// reach is the rules'; this bounds one search's work.
const DEFAULT_WINDOW_DAYS: i64 = 31;

/// The FHIR routes. A public `POST /fhir/Appointment` books like `POST /api/v1/bookings`, and is
/// limited per client address like it (`public_posts`).
pub(super) fn configure(
    cfg: &mut web::ServiceConfig,
    public_posts: &crate::abuse::PublicPostLimit,
) {
    cfg.service(
        web::scope("/fhir")
            .route("/metadata", web::get().to(metadata))
            .route("/$bulk-publish", web::get().to(publish::bulk_manifest))
            .route("/$bulk-publish/{file}", web::get().to(publish::bulk_file))
            .route("/Practitioner", web::get().to(search_practitioners))
            .route("/Practitioner/{id}", web::get().to(read_practitioner))
            .route("/Location", web::get().to(search_locations))
            .route("/Location/{id}", web::get().to(read_location))
            .route("/HealthcareService", web::get().to(search_services))
            .route("/HealthcareService/{id}", web::get().to(read_service))
            .route("/Schedule", web::get().to(search_schedules))
            .route("/Schedule/{id}", web::get().to(read_schedule))
            .route("/Slot", web::get().to(search_slots))
            .route("/Slot/{id}", web::get().to(read_slot))
            .route(
                "/Appointment",
                web::get().to(appointments::search_appointments),
            )
            .route(
                "/Appointment",
                web::post()
                    .to(appointments::create_appointment)
                    .wrap(public_posts.middleware()),
            )
            .route(
                "/Appointment/{id}",
                web::get().to(appointments::read_appointment),
            )
            .route(
                "/Appointment/{id}",
                web::put().to(appointments::update_appointment),
            )
            .route("/Patient", web::get().to(appointments::search_patients))
            .route("/Patient/{id}", web::get().to(appointments::read_patient))
            .default_service(web::to(unknown)),
    );
}

/// An error as FHIR clients read it: an `OperationOutcome` with the HTTP status of the error.
#[derive(Debug)]
pub(crate) struct FhirError(ApiError);

impl<E: Into<ApiError>> From<E> for FhirError {
    fn from(error: E) -> Self {
        Self(error.into())
    }
}

impl std::fmt::Display for FhirError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for FhirError {
    fn status_code(&self) -> StatusCode {
        self.0.status_code()
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if status.is_server_error() {
            // The details go to the log, as every 5xx's do; the client gets the status.
            let _ = self.0.error_response();
        }
        let diagnostics = if status.is_server_error() {
            "the server could not answer; the request is logged under its X-Request-Id".to_owned()
        } else {
            self.0.detail()
        };
        let code = issue_code(status);
        let mut outcome = operation_outcome(code, &diagnostics);
        // Invalid fields: one issue each, naming where.
        if let ApiError::Validation(fields) = &self.0 {
            outcome["issue"] = fields
                .iter()
                .map(|(field, message)| {
                    json!({
                        "severity": "error",
                        "code": "invalid",
                        "diagnostics": message,
                        "expression": [field],
                    })
                })
                .collect();
        }
        let mut response = HttpResponse::build(status);
        response.content_type(FHIR_JSON);
        if let ApiError::TooManyRequests {
            retry_after_secs, ..
        } = &self.0
        {
            response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
        }
        response.body(outcome.to_string())
    }
}

/// The `OperationOutcome` issue code of an error status.
fn issue_code(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "not-found",
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => "security",
        StatusCode::CONFLICT => "conflict",
        StatusCode::TOO_MANY_REQUESTS => "throttled",
        StatusCode::METHOD_NOT_ALLOWED | StatusCode::UNSUPPORTED_MEDIA_TYPE => "not-supported",
        StatusCode::PAYLOAD_TOO_LARGE => "too-long",
        s if s.is_server_error() => "exception",
        _ => "invalid",
    }
}

/// An error answer under `/fhir` that no handler rendered (an extractor's, the router's): an
/// `OperationOutcome` with `status`.
pub(crate) fn outcome_response(status: StatusCode, diagnostics: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(FHIR_JSON)
        .body(operation_outcome(issue_code(status), diagnostics).to_string())
}

fn operation_outcome(code: &str, diagnostics: &str) -> Value {
    json!({
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": diagnostics}],
    })
}

type FhirResult = Result<HttpResponse, FhirError>;

fn fhir_json(body: &Value) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(FHIR_JSON)
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body.to_string())
}

/// The resource types served here, for telling an unsupported interaction (405) from an
/// unknown address (404).
const RESOURCE_TYPES: [&str; 7] = [
    "Practitioner",
    "Location",
    "HealthcareService",
    "Schedule",
    "Slot",
    "Appointment",
    "Patient",
];

async fn unknown(req: HttpRequest) -> FhirResult {
    let kind = req.path().trim_start_matches("/fhir/").split('/').next();
    if kind.is_some_and(|k| RESOURCE_TYPES.contains(&k)) {
        return Err(ApiError::MethodNotAllowed(format!(
            "{} {}: not an interaction this server implements (see /fhir/metadata)",
            req.method(),
            req.path()
        ))
        .into());
    }
    Err(ApiError::NotFound(format!(
        "{} {}: not a resource or interaction this server implements (see /fhir/metadata)",
        req.method(),
        req.path()
    ))
    .into())
}

/// The base every `fullUrl`, paging link and published file starts with: the clinic's public
/// address (`clinic.public_base_url`), never one a request's headers claim (a shared cache
/// keeps the manifest).
fn base(state: &AppState) -> String {
    format!(
        "{}/fhir",
        state.settings.clinic.public_base_url.trim_end_matches('/')
    )
}

fn instant(at: NaiveDateTime, tz: Tz) -> String {
    at.and_utc()
        .with_timezone(&tz)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

fn practitioner(p: &Provider) -> Value {
    let mut resource = json!({
        "resourceType": "Practitioner",
        "id": p.id.to_string(),
        "active": p.active,
        "name": [{"text": p.name}],
    });
    if !p.title.trim().is_empty() {
        resource["qualification"] = json!([{"code": {"text": p.title}}]);
    }
    resource
}

/// A US address written on one line, `4410 N 7th St, Suite 200, Phoenix, AZ 85014`, in parts.
struct UsAddress<'a> {
    lines: Vec<&'a str>,
    city: &'a str,
    state: &'a str,
    postal_code: &'a str,
}

/// The parts of `text` if it is a US address on one line (street lines, city, then the state's
/// two letters and a ZIP code, separated by commas); none for anything else, which is then
/// published as text only.
fn us_address(text: &str) -> Option<UsAddress<'_>> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let [lines @ .., city, state_zip] = parts.as_slice() else {
        return None;
    };
    let (state, postal_code) = state_zip.split_once(' ')?;
    let postal_code = postal_code.trim();
    let zip = |p: &str| p.len() == 5 && p.bytes().all(|b| b.is_ascii_digit());
    let zip_ok = match postal_code.split_once('-') {
        Some((five, four)) => {
            zip(five) && four.len() == 4 && four.bytes().all(|b| b.is_ascii_digit())
        }
        None => zip(postal_code),
    };
    let state_ok = state.len() == 2 && state.bytes().all(|b| b.is_ascii_uppercase());
    (state_ok && zip_ok && !lines.is_empty() && !city.is_empty()).then(|| UsAddress {
        lines: lines.to_vec(),
        city,
        state,
        postal_code,
    })
}

/// A `Location`, with its address in parts where it reads as a US address, and its id as an
/// identifier in the clinic's own system (its location list, `site` the clinic's address).
fn location(l: &Location, site: &str) -> Value {
    let mut resource = json!({
        "resourceType": "Location",
        "id": l.id.to_string(),
        "extension": [{"url": TIMEZONE_EXTENSION, "valueCode": l.timezone.as_str()}],
        "identifier": [{
            "system": format!("{}/api/v1/locations", site.trim_end_matches('/')),
            "value": l.id.to_string(),
        }],
        "status": if l.active { "active" } else { "inactive" },
        "name": l.name,
        "mode": "instance",
    });
    if !l.phone.trim().is_empty() {
        resource["telecom"] = json!([{"system": "phone", "value": l.phone, "use": "work"}]);
    }
    if !l.address.trim().is_empty() {
        resource["address"] = match us_address(&l.address) {
            Some(a) => json!({
                "use": "work",
                "text": l.address,
                "line": a.lines,
                "city": a.city,
                "state": a.state,
                "postalCode": a.postal_code,
                "country": "US",
            }),
            None => json!({"text": l.address}),
        };
    }
    resource
}

/// The US states of `locations`' addresses, if every one has one (the manifest's hint for
/// aggregators that look for a state's slots).
fn states_of<'a>(locations: impl IntoIterator<Item = &'a Location>) -> Option<Vec<String>> {
    let mut states: Vec<String> = Vec::new();
    for l in locations {
        let state = us_address(&l.address)?.state.to_owned();
        if !states.contains(&state) {
            states.push(state);
        }
    }
    states.sort();
    (!states.is_empty()).then_some(states)
}

fn visit_type_concept(v: &VisitType) -> Value {
    json!({
        "coding": [{"system": VISIT_TYPE_SYSTEM, "code": v.id.to_string(), "display": v.name}],
        "text": v.name,
    })
}

fn service(v: &VisitType, offered_by: &[ProviderId]) -> Value {
    let mut resource = json!({
        "resourceType": "HealthcareService",
        "id": v.id.to_string(),
        "active": v.active,
        "type": [visit_type_concept(v)],
        "name": v.name,
        "appointmentRequired": true,
    });
    let minutes = v.duration_minutes;
    let comment = if v.description.trim().is_empty() {
        format!("{minutes} minutes")
    } else {
        format!("{} ({minutes} minutes)", v.description.trim())
    };
    resource["comment"] = json!(comment);
    if !offered_by.is_empty() {
        // Who provides it is the providers' own business here: noted, not referenced (R4's
        // HealthcareService has no practitioner element).
        resource["extraDetails"] = json!(format!("Offered by {} provider(s)", offered_by.len()));
    }
    resource
}

/// A schedule's id: the provider at the location.
fn schedule_id(provider: ProviderId, location: LocationId) -> String {
    format!("{provider}-{location}")
}

fn parse_schedule_id(id: &str) -> Option<(ProviderId, LocationId)> {
    let (provider, location) = id.split_once('-')?;
    Some((
        ProviderId::try_from(provider.parse::<i64>().ok()?).ok()?,
        LocationId::try_from(location.parse::<i64>().ok()?).ok()?,
    ))
}

fn schedule(provider: &Provider, location: &Location, offered: &[VisitType]) -> Value {
    let mut resource = json!({
        "resourceType": "Schedule",
        "id": schedule_id(provider.id, location.id),
        "active": provider.active && location.active,
        "actor": [
            {"reference": format!("Practitioner/{}", provider.id), "display": provider.name},
            {"reference": format!("Location/{}", location.id), "display": location.name},
        ],
        "comment": format!("{} at {}", provider.name, location.name),
    });
    if !offered.is_empty() {
        resource["serviceType"] = offered.iter().map(visit_type_concept).collect();
    }
    resource
}

/// A slot's id: the free slot, or a start of a visit type (`{slot}.{visit type}`).
fn slot_id(slot: SlotId, visit_type: Option<VisitTypeId>) -> String {
    match visit_type {
        Some(v) => format!("{slot}.{v}"),
        None => slot.to_string(),
    }
}

fn parse_slot_id(id: &str) -> Option<(SlotId, Option<VisitTypeId>)> {
    let (slot, visit_type) = match id.split_once('.') {
        Some((slot, visit_type)) => (slot, Some(visit_type)),
        None => (id, None),
    };
    let slot = SlotId::try_from(slot.parse::<i64>().ok()?).ok()?;
    let visit_type = match visit_type {
        Some(v) => Some(VisitTypeId::try_from(v.parse::<i64>().ok()?).ok()?),
        None => None,
    };
    Some((slot, visit_type))
}

fn fhir_slot(slot: &Slot, location: &Location, visit_type: Option<&VisitType>) -> Value {
    let tz = location.timezone.tz();
    let mut resource = json!({
        "resourceType": "Slot",
        "id": slot_id(slot.id, visit_type.map(|v| v.id)),
        "schedule": {"reference": format!("Schedule/{}", schedule_id(slot.provider_id, location.id))},
        "status": "free",
        "start": instant(slot.starts_at, tz),
        "end": instant(slot.ends_at, tz),
    });
    if let Some(v) = visit_type {
        resource["serviceType"] = json!([visit_type_concept(v)]);
    }
    resource
}

/// A `searchset` bundle of `resources`, with its `self` link and, when there is more, `next`.
fn searchset(base: &str, resources: Vec<Value>, self_url: &str, next: Option<String>) -> Value {
    let total = resources.len();
    let entry: Vec<Value> = resources
        .into_iter()
        .map(|resource| {
            let url = format!(
                "{base}/{}/{}",
                resource["resourceType"].as_str().unwrap_or_default(),
                resource["id"].as_str().unwrap_or_default()
            );
            json!({"fullUrl": url, "resource": resource, "search": {"mode": "match"}})
        })
        .collect();
    let mut link = vec![json!({"relation": "self", "url": self_url})];
    if let Some(next) = next {
        link.push(json!({"relation": "next", "url": next}));
    }
    let mut bundle = json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "link": link,
        "entry": entry,
    });
    // A page that is the whole answer knows its total.
    if bundle["link"].as_array().map_or(0, Vec::len) == 1 {
        bundle["total"] = json!(total);
    }
    bundle
}

fn self_url(state: &AppState, req: &HttpRequest) -> String {
    let query = req.query_string();
    let path = req.path().trim_start_matches("/fhir");
    if query.is_empty() {
        format!("{}{path}", base(state))
    } else {
        format!("{}{path}?{query}", base(state))
    }
}

/// The query's parameters, in order (repeats kept: `start=ge…&start=lt…`).
fn params(req: &HttpRequest) -> Result<Vec<(String, String)>, FhirError> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
        .map_err(|_| ApiError::BadRequest("the query string is not well formed".into()).into())
}

/// Refuses search parameters this server does not implement (FHIR lets a server ignore them;
/// answering a search that silently ignored a filter would mislead an EHR).
fn only(params: &[(String, String)], known: &[&str]) -> Result<(), FhirError> {
    match params
        .iter()
        .find(|(name, _)| !known.contains(&name.as_str()))
    {
        Some((name, _)) => Err(ApiError::BadRequest(format!(
            "search parameter `{name}` is not supported here; see /fhir/metadata"
        ))
        .into()),
        None => Ok(()),
    }
}

fn id_from<T: TryFrom<i64>>(raw: &str, what: &str) -> Result<T, FhirError> {
    raw.parse::<i64>()
        .ok()
        .and_then(|id| T::try_from(id).ok())
        .ok_or_else(|| ApiError::not_found(what).into())
}

async fn read_practitioner(state: web::Data<AppState>, path: web::Path<String>) -> FhirResult {
    let id: ProviderId = id_from(&path, "Practitioner")?;
    let provider = state
        .with_connection(move |conn| providers::find(conn, id))
        .await?
        .ok_or_else(|| ApiError::not_found("Practitioner"))?;
    Ok(fhir_json(&practitioner(&provider)))
}

async fn search_practitioners(state: web::Data<AppState>, req: HttpRequest) -> FhirResult {
    only(&params(&req)?, &[])?;
    let found = state.with_connection(providers::list_active).await?;
    let resources = found.iter().map(practitioner).collect();
    Ok(fhir_json(&searchset(
        &base(&state),
        resources,
        &self_url(&state, &req),
        None,
    )))
}

async fn read_location(state: web::Data<AppState>, path: web::Path<String>) -> FhirResult {
    let id: LocationId = id_from(&path, "Location")?;
    let found = state
        .with_connection(move |conn| crate::db::locations::find(conn, id))
        .await?
        .ok_or_else(|| ApiError::not_found("Location"))?;
    Ok(fhir_json(&location(
        &found,
        &state.settings.clinic.public_base_url,
    )))
}

async fn search_locations(state: web::Data<AppState>, req: HttpRequest) -> FhirResult {
    only(&params(&req)?, &[])?;
    let found = state
        .with_connection(|conn| crate::db::locations::list(conn, true))
        .await?;
    let site = &state.settings.clinic.public_base_url;
    let resources = found.iter().map(|l| location(l, site)).collect();
    Ok(fhir_json(&searchset(
        &base(&state),
        resources,
        &self_url(&state, &req),
        None,
    )))
}

async fn read_service(state: web::Data<AppState>, path: web::Path<String>) -> FhirResult {
    let id: VisitTypeId = id_from(&path, "HealthcareService")?;
    let (visit_type, offered_by) = state
        .with_connection(move |conn| {
            let visit_type = visit_types::find(conn, id)?;
            let offered_by = visit_types::providers_of(conn, id)?;
            Ok::<_, ApiError>((visit_type, offered_by))
        })
        .await?;
    let visit_type = visit_type.ok_or_else(|| ApiError::not_found("HealthcareService"))?;
    Ok(fhir_json(&service(&visit_type, &offered_by)))
}

async fn search_services(state: web::Data<AppState>, req: HttpRequest) -> FhirResult {
    only(&params(&req)?, &[])?;
    let (found, offers) = state
        .with_connection(|conn| {
            Ok::<_, ApiError>((visit_types::list(conn, true)?, visit_types::offers(conn)?))
        })
        .await?;
    let resources = found
        .iter()
        .map(|v| {
            let offered_by: Vec<ProviderId> = offers
                .iter()
                .filter(|(visit_type, _)| *visit_type == v.id)
                .map(|(_, provider)| *provider)
                .collect();
            service(v, &offered_by)
        })
        .collect();
    Ok(fhir_json(&searchset(
        &base(&state),
        resources,
        &self_url(&state, &req),
        None,
    )))
}

/// The schedules there are (see `publishable_schedules`), from now on, for one provider or all.
fn schedules(
    conn: &mut DbConnection,
    only_provider: Option<ProviderId>,
    now: NaiveDateTime,
) -> Result<Vec<Value>, ApiError> {
    let directory = Directory::load(conn)?;
    Ok(publish::publishable_schedules(conn, &directory, now)?
        .iter()
        .filter(|(provider, _, _)| only_provider.is_none_or(|p| p == provider.id))
        .map(|(provider, place, offered)| schedule(provider, directory.of(Some(place.id)), offered))
        .collect())
}

async fn read_schedule(state: web::Data<AppState>, path: web::Path<String>) -> FhirResult {
    let (provider, location) =
        parse_schedule_id(&path).ok_or_else(|| ApiError::not_found("Schedule"))?;
    // Any provider at any location reads (a slot read later, or a past one, names its schedule
    // whether or not it is still published); `active` says whether it is.
    let resource = state
        .with_connection(move |conn| {
            let provider =
                providers::find(conn, provider)?.ok_or_else(|| ApiError::not_found("Schedule"))?;
            let place = crate::db::locations::find(conn, location)?
                .ok_or_else(|| ApiError::not_found("Schedule"))?;
            let offers = visit_types::offers(conn)?;
            let offered: Vec<VisitType> = visit_types::list(conn, true)?
                .into_iter()
                .filter(|v| offers.contains(&(v.id, provider.id)))
                .collect();
            Ok::<_, ApiError>(schedule(&provider, &place, &offered))
        })
        .await?;
    Ok(fhir_json(&resource))
}

async fn search_schedules(state: web::Data<AppState>, req: HttpRequest) -> FhirResult {
    let params = params(&req)?;
    only(&params, &["actor"])?;
    let mut provider = None;
    let mut location = None;
    for (_, value) in params.iter().filter(|(name, _)| name == "actor") {
        match reference(value) {
            Some(("Practitioner", id)) => {
                provider = Some(id_from::<ProviderId>(id, "Practitioner")?)
            }
            Some(("Location", id)) => location = Some(id_from::<LocationId>(id, "Location")?),
            _ => {
                return Err(ApiError::BadRequest(
                    "`actor` is a Practitioner or Location reference".into(),
                )
                .into())
            }
        }
    }
    let found = state
        .with_connection(move |conn| schedules(conn, provider, db::now()))
        .await?;
    let location = location.map(|l| format!("Location/{l}"));
    let resources = found
        .into_iter()
        .filter(|s| match &location {
            Some(l) => s["actor"][1]["reference"] == l.as_str(),
            None => true,
        })
        .collect();
    Ok(fhir_json(&searchset(
        &base(&state),
        resources,
        &self_url(&state, &req),
        None,
    )))
}

/// `Type/id` (or an absolute URL ending so) as its type and id.
fn reference(value: &str) -> Option<(&str, &str)> {
    let mut parts = value.trim_end_matches('/').rsplitn(3, '/');
    let id = parts.next()?;
    let kind = parts.next()?;
    Some((kind, id))
}

async fn read_slot(state: web::Data<AppState>, path: web::Path<String>) -> FhirResult {
    let (id, visit_type_id) = parse_slot_id(&path).ok_or_else(|| ApiError::not_found("Slot"))?;
    let policy = state.policy.clone();
    let resource = state
        .with_connection(move |conn| {
            let now = db::now();
            let (slot, provider) =
                slots::find_with_provider(conn, id)?.ok_or_else(|| ApiError::not_found("Slot"))?;
            let location = locations::of_slot(conn, slot.location_id)?;
            let visit_type = match visit_type_id {
                Some(v) => {
                    Some(visit_types::find(conn, v)?.ok_or_else(|| ApiError::not_found("Slot"))?)
                }
                None => None,
            };
            // Still open, and (for a visit type's start) the visit still fits: free; anything
            // else is `busy`, which says nothing of whom.
            let (earliest, horizon) = rules::bookable_window(&policy, visit_type.as_ref(), now);
            let between = OpenBetween {
                from: slot.starts_at.max(earliest),
                until: (slot.starts_at + chrono::Duration::seconds(1)).min(horizon),
                now,
            };
            let place = locations::place(conn, location.id)?;
            let open = openings::open_times(
                conn,
                visit_type.as_ref(),
                Some(provider.id),
                Some(place),
                between,
                1,
            )?;
            let (shown, status) = match open.into_iter().find(|(s, _)| s.id == slot.id) {
                Some((open, _)) => (open, "free"),
                None => (slot, "busy"),
            };
            let mut resource = fhir_slot(&shown, &location, visit_type.as_ref());
            resource["status"] = json!(status);
            Ok::<_, ApiError>(resource)
        })
        .await?;
    Ok(fhir_json(&resource))
}

/// A `start` search value: its prefix and the span it names. A date is its whole local day
/// (23 or 25 hours across a DST change); an instant, its second.
/// A span of time, from its first instant to the first one after it.
type Span = (DateTime<Utc>, DateTime<Utc>);

fn start_bound<'v>(name: &str, value: &'v str, tz: Tz) -> Result<(&'v str, Span), FhirError> {
    let (prefix, rest) = match value.get(..2) {
        Some(p @ ("ge" | "gt" | "le" | "lt" | "eq")) => (p, &value[2..]),
        _ => ("eq", value),
    };
    let bad = |m: String| {
        FhirError::from(ApiError::BadRequest(format!(
            "`{name}` {m} (a date or an instant, after ge, gt, le or lt)"
        )))
    };
    let lo = crate::domain::slot::parse_instant(rest, tz).map_err(bad)?;
    let hi = match chrono::NaiveDate::parse_from_str(rest.trim(), "%Y-%m-%d") {
        Ok(date) => {
            let next = date
                .succ_opt()
                .ok_or_else(|| bad("is out of range".into()))?;
            crate::domain::slot::parse_instant(&next.to_string(), tz).map_err(bad)?
        }
        Err(_) => lo + chrono::Duration::seconds(1),
    };
    Ok((prefix, (lo, hi)))
}

/// A search's id parameter: malformed is a 400; one that names nothing finds nothing.
fn search_id<T: TryFrom<i64>>(raw: &str, what: &str) -> Result<T, FhirError> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .and_then(|id| T::try_from(id).ok())
        .ok_or_else(|| ApiError::BadRequest(format!("`{raw}` is not a {what} id")).into())
}

async fn search_slots(state: web::Data<AppState>, req: HttpRequest) -> FhirResult {
    let params = params(&req)?;
    only(
        &params,
        &[
            "schedule",
            "schedule.actor",
            "start",
            "status",
            "service-type",
            "_count",
            "_offset",
        ],
    )?;
    let tz = state.settings.clinic.timezone;
    let now = Utc::now();
    let mut lower: Option<DateTime<Utc>> = None;
    let mut upper: Option<DateTime<Utc>> = None;
    let mut provider: Option<ProviderId> = None;
    let mut location: Option<LocationId> = None;
    let mut visit_type_id: Option<VisitTypeId> = None;
    let mut count = DEFAULT_COUNT;
    let mut offset = 0usize;
    let mut none = false;
    for (name, value) in &params {
        match name.as_str() {
            "start" => {
                let (prefix, (lo, hi)) = start_bound("start", value, tz)?;
                let (from, until) = match prefix {
                    "ge" => (Some(lo), None),
                    "gt" => (Some(hi), None),
                    "lt" => (None, Some(lo)),
                    "le" => (None, Some(hi)),
                    _ => (Some(lo), Some(hi)),
                };
                lower = lower.max(from);
                upper = match (upper, until) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            "schedule" => {
                let id = reference(value).map_or(value.as_str(), |(_, id)| id);
                let (p, l) = parse_schedule_id(id).ok_or_else(|| {
                    ApiError::BadRequest(format!("`{value}` is not a Schedule id"))
                })?;
                provider = Some(p);
                location = Some(l);
            }
            "schedule.actor" => match reference(value) {
                Some(("Practitioner", id)) => provider = Some(search_id(id, "Practitioner")?),
                Some(("Location", id)) => location = Some(search_id(id, "Location")?),
                _ => {
                    return Err(ApiError::BadRequest(
                        "`schedule.actor` is a Practitioner or Location reference".into(),
                    )
                    .into())
                }
            },
            // Free time is what this server reports: `busy` (and the rest) find nothing.
            "status" => none = none || !value.split(',').any(|s| s == "free"),
            "service-type" => {
                let code = value.rsplit('|').next().unwrap_or_default();
                visit_type_id = Some(search_id(code, "HealthcareService")?);
            }
            "_count" => {
                count = value
                    .parse::<usize>()
                    .ok()
                    .filter(|c| (1..=MAX_COUNT).contains(c))
                    .ok_or_else(|| ApiError::BadRequest(format!("`_count` is 1 to {MAX_COUNT}")))?;
            }
            "_offset" => {
                offset = value
                    .parse::<usize>()
                    .ok()
                    .filter(|o| *o <= 100_000)
                    .ok_or_else(|| ApiError::BadRequest("`_offset` is 0 to 100000".into()))?;
            }
            _ => {}
        }
    }
    let from = lower.map_or(now, |l| l.max(now));
    let until = upper.unwrap_or(from + chrono::Duration::days(DEFAULT_WINDOW_DAYS));
    if until.signed_duration_since(from) > chrono::Duration::days(62) {
        return Err(ApiError::BadRequest(
            "a `start` window may span at most 62 days; page through longer ones".into(),
        )
        .into());
    }
    let policy = state.policy.clone();
    let (resources, more) = state
        .with_connection(move |conn| {
            if none || from >= until {
                return Ok::<_, ApiError>((Vec::new(), None));
            }
            // A reference that names nothing (or nothing active) finds nothing.
            let visit_type = match visit_type_id {
                Some(id) => match visit_types::find(conn, id)?.filter(|v| v.active) {
                    Some(v) => Some(v),
                    None => return Ok((Vec::new(), None)),
                },
                None => None,
            };
            let place: Option<AtLocation> = match location {
                Some(id) => match locations::place(conn, id) {
                    Ok(place) => Some(place),
                    Err(crate::clinic::ClinicError::NotFound(_)) => return Ok((Vec::new(), None)),
                    Err(e) => return Err(e.into()),
                },
                None => None,
            };
            let (earliest, horizon) =
                rules::bookable_window(&policy, visit_type.as_ref(), now.naive_utc());
            let between = OpenBetween {
                from: from.naive_utc().max(earliest),
                until: until.naive_utc().min(horizon),
                now: now.naive_utc(),
            };
            let open = openings::open_times(
                conn,
                visit_type.as_ref(),
                provider,
                place,
                between,
                offset + count + 1,
            )?;
            let directory = Directory::load(conn)?;
            let page: Vec<&Slot> = open
                .iter()
                .skip(offset)
                .take(count)
                .map(|(s, _)| s)
                .collect();
            let more = open.len() > offset + count;
            // The next page starts at this page's last start (pinned, so that time passing or
            // the notice moving does not shift it), skipping what this page showed there.
            let last = page.last().map(|s| {
                let at = s.starts_at;
                (at, page.iter().filter(|s| s.starts_at == at).count())
            });
            let resources = page
                .iter()
                .map(|slot| fhir_slot(slot, directory.of(slot.location_id), visit_type.as_ref()))
                .collect::<Vec<_>>();
            Ok((resources, more.then_some(last).flatten()))
        })
        .await?;
    let first_page = offset == 0 && more.is_none();
    let next = more.map(|(last_start, shown_there)| {
        let mut next: Vec<(String, String)> = params
            .iter()
            .filter(|(name, _)| name != "_offset" && name != "start")
            .cloned()
            .collect();
        let instant = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
        next.push((
            "start".into(),
            format!("ge{}", instant(last_start.and_utc())),
        ));
        next.push(("start".into(), format!("lt{}", instant(until))));
        next.push(("_offset".into(), shown_there.to_string()));
        format!(
            "{}/Slot?{}",
            base(&state),
            serde_urlencoded::to_string(&next).unwrap_or_default()
        )
    });
    let mut bundle = searchset(&base(&state), resources, &self_url(&state, &req), next);
    if !first_page {
        // `total` is the whole answer's count, which a later page does not know.
        if let Some(object) = bundle.as_object_mut() {
            object.remove("total");
        }
    }
    Ok(fhir_json(&bundle))
}

/// `GET /fhir/metadata`: what this server implements, and nothing more.
async fn metadata(state: web::Data<AppState>) -> FhirResult {
    let interactions =
        |codes: &[&str]| -> Value { codes.iter().map(|code| json!({"code": code})).collect() };
    let resource = |kind: &str, codes: &[&str], params: Value, documentation: &str| {
        json!({
            "type": kind,
            "documentation": documentation,
            "interaction": interactions(codes),
            "searchParam": params,
        })
    };
    let read_search = ["read", "search-type"];
    let param = |name: &str, kind: &str, documentation: &str| json!({"name": name, "type": kind, "documentation": documentation});
    let paging = || {
        param(
            "_count",
            "number",
            "page size, 1 to 500 (default 50); Bundle.link next pages on",
        )
    };
    let mut appointment = resource(
        "Appointment",
        &["read", "search-type", "create", "update"],
        json!([
            param(
                "date",
                "date",
                "the visit's start: ge, gt, le, lt (or none: eq); a date is its whole local day"
            ),
            param("practitioner", "reference", "Practitioner/{id}"),
            param("location", "reference", "Location/{id}"),
            param(
                "status",
                "token",
                "booked, arrived, fulfilled, cancelled, noshow (comma-separated: any of them)"
            ),
            param(
                "patient",
                "reference",
                "Patient/{id}: every visit booked under that patient's email address"
            ),
            param("identifier", "token", "the booking reference (BK-…)"),
            paging(),
        ]),
        "A booking; id and identifier are its reference (BK-…). Read and search: a staff token \
         (`Authorization: Bearer`, from POST /api/v1/auth/login); a booking's manage token reads \
         its own. Create (`status: booked`, a `slot`, or a `start` with a Practitioner \
         participant, and the patient contained or, with a staff token, referenced): public, \
         like POST /api/v1/bookings, under the same booking rules, with the same confirmation \
         mail; the answer carries the manage token once, in an extension. `Idempotency-Key` or \
         `If-None-Exist` (for a day; from a public caller, with the same body) make retries safe, and a public create is limited per client address. \
         Update: only `status` changes: cancelled (staff, or the manage token, until the \
         rules' cut-off), arrived, fulfilled, noshow (staff). A taken time or a booking rule \
         answers 409.",
    );
    appointment["conditionalCreate"] = json!(true);
    appointment["updateCreate"] = json!(false);
    let body = json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-12-01",
        "publisher": state.settings.clinic.name,
        "kind": "instance",
        "software": {"name": "clinic-booking", "version": env!("CARGO_PKG_VERSION")},
        "implementation": {
            "description": format!("{}: providers, locations, visit types, free time and bookings", state.settings.clinic.name),
            "url": base(&state),
        },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "application/json"],
        "rest": [{
            "mode": "server",
            "documentation": "Practitioner, Location, HealthcareService, Schedule and Slot are \
                              public. Free time only: Slot reports `free` time; a slot that is \
                              taken reads as `busy`, with no patient data. Appointment and \
                              Patient hold patient data: see each. Free slots are also \
                              published in the SMART Scheduling Links format at $bulk-publish.",
            "security": {
                "cors": true,
                "description": "CORS: for the clinic's own website origins \
                                (`APP__HTTP__ALLOWED_ORIGINS`). Public resources need no token. Appointment and Patient: a \
                                staff token (`Authorization: Bearer <token>` from \
                                POST /api/v1/auth/login) reads and searches them; a booking's \
                                manage token (from its confirmation mail) reads and cancels \
                                that booking only. No token: 401; a token that does not open \
                                the resource: 403.",
            },
            "resource": [
                resource("Practitioner", &read_search, json!([]), "The clinic's active providers"),
                resource("Location", &read_search, json!([]), "The clinic's active locations, with their time zone (the HL7 timezone extension)"),
                resource("HealthcareService", &read_search, json!([]), "The clinic's visit types: `type` codes them in the visit-type system, as Slot.serviceType does"),
                resource("Schedule", &read_search, json!([
                    param("actor", "reference", "Practitioner/{id} or Location/{id}"),
                ]), "A provider at a location where they have time from now on; id `{provider}-{location}`"),
                resource("Slot", &read_search, json!([
                    param("schedule", "reference", "Schedule/{id}"),
                    param("schedule.actor", "reference", "Practitioner/{id} or Location/{id}"),
                    param("start", "date", "ge, gt, le, lt (or none: eq); default: from now, 31 days; a window spans at most 62 days"),
                    param("status", "token", "free (the only status searched)"),
                    param("service-type", "token", "a visit type's code: only starts where that visit fits, each ending where the visit would"),
                    paging(),
                ]), "Free time the booking rules let a patient book now: from the minimum notice on, within the horizon"),
                appointment,
                resource("Patient", &read_search, json!([
                    param("email", "token", "the email address, without case"),
                    param("name", "string", "any part of the name, without case"),
                    param("birthdate", "date", "the date of birth, YYYY-MM-DD"),
                    paging(),
                ]), "The patient as a booking names them (id: that booking's reference); a search answers one \
                    per email address, as their newest booking names them. A staff token; a manage \
                    token reads its own booking's."),
            ],
            "operation": [{
                "name": "bulk-publish",
                "definition": "https://clinic-booking.dev/fhir/OperationDefinition/bulk-publish",
                "documentation": "GET /fhir/$bulk-publish: the SMART Scheduling Links manifest of the free slots (Location, Schedule and Slot NDJSON files), public, with ETag and Last-Modified",
            }],
        }],
    });
    Ok(fhir_json(&body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_us_address_on_one_line_reads_in_parts() {
        let a = us_address("4410 N 7th St, Suite 200, Phoenix, AZ 85014").expect("parts");
        assert_eq!(a.lines, ["4410 N 7th St", "Suite 200"]);
        assert_eq!((a.city, a.state, a.postal_code), ("Phoenix", "AZ", "85014"));
        let b = us_address("8 Route 264, Window Rock, AZ 86515-1234").expect("ZIP+4");
        assert_eq!(b.postal_code, "86515-1234");
        for other in [
            "Calle Mayor 1, 28013 Madrid",
            "Phoenix, AZ 85014",
            "1 Main St, Phoenix, Arizona 85014",
            "1 Main St, Phoenix, AZ 8501",
            "",
        ] {
            assert!(us_address(other).is_none(), "{other}");
        }
    }

    #[test]
    fn instants_carry_the_offset_of_their_day_across_dst() {
        // Window Rock (America/Denver) moves from -07:00 to -06:00 on 2027-03-14 at 02:00.
        let denver = chrono_tz::America::Denver;
        let utc = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("time");
        assert_eq!(
            instant(utc("2027-03-13 16:00"), denver),
            "2027-03-13T09:00:00-07:00"
        );
        assert_eq!(
            instant(utc("2027-03-15 15:00"), denver),
            "2027-03-15T09:00:00-06:00"
        );
        // The same UTC hour is 9:00 in Phoenix on both days (no DST there).
        let phoenix = chrono_tz::America::Phoenix;
        assert_eq!(
            instant(utc("2027-03-15 16:00"), phoenix),
            "2027-03-15T09:00:00-07:00"
        );
    }
}
