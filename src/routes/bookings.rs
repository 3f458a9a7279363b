//! Bookings: create (with `Idempotency-Key`; by a patient, or by staff for a patient), read /
//! cancel / reschedule with the booking's manage token or a staff token, the front desk's day
//! sheet, and status changes (check-in, completion, no-show).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{rfc3339, ProviderSummary, SlotView};
use crate::appointments::{self, BookingDetails, BookingRequest};
use crate::audit::Actor;
use crate::auth::extractor::{AllRoles, AnyStaff, BookingAccess, MaybeStaff};
use crate::db::{self, idempotency, idempotency::KeyState};
use crate::domain::booking::{parse_reason, BookingReference, BookingSource, BookingStatus};
use crate::domain::intake::Concern;
use crate::domain::patient::{Patient, PatientInput};
use crate::domain::slot::start_of_local_day;
use crate::domain::FieldErrors;
use crate::error::ApiError;
use crate::startup::AppState;

const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PatientBody {
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    date_of_birth: Option<String>,
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBookingBody {
    slot_id: Option<i64>,
    patient: Option<PatientBody>,
    reason: Option<String>,
    source: Option<String>,
    /// The booking form's honeypot (see `reject_bots`).
    company_website: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RescheduleBody {
    slot_id: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
struct PatientView {
    name: String,
    email: String,
    phone: Option<String>,
    date_of_birth: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BookingView {
    reference: String,
    status: String,
    slot: SlotView,
    provider: ProviderSummary,
    patient: PatientView,
    reason: Option<String>,
    source: String,
    created_at: String,
    updated_at: String,
    concern: Option<Concern>,
    /// Red flags in the intake: the front desk reviews this booking before the visit.
    needs_review: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    manage_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    confirmation_email: Option<&'static str>,
}

impl BookingView {
    fn new(details: &BookingDetails, state: &AppState) -> Self {
        let b = &details.booking;
        Self {
            reference: b.reference.clone(),
            status: b.status.clone(),
            slot: SlotView::new(&details.slot, state.settings.clinic.timezone),
            provider: (&details.provider).into(),
            patient: PatientView {
                name: b.patient_name.clone(),
                email: b.patient_email.clone(),
                phone: b.patient_phone.clone(),
                date_of_birth: b.patient_date_of_birth.map(|d| d.to_string()),
            },
            reason: b.reason.clone(),
            source: b.source.clone(),
            created_at: rfc3339(b.created_at.and_utc()),
            updated_at: rfc3339(b.updated_at.and_utc()),
            concern: Concern::from_stored(
                b.concern_area.as_deref(),
                b.concern_onset.as_deref(),
                b.red_flags.as_deref(),
            ),
            needs_review: b.needs_review,
            manage_token: None,
            confirmation_email: None,
        }
    }
}

impl CreateBookingBody {
    /// Turns the body into a valid request, or a 422 naming every bad field. Staff bookings are
    /// `front_desk` whatever the body names as source.
    fn parse(&self, by_staff: bool) -> Result<BookingRequest, ApiError> {
        let mut errors = FieldErrors::default();
        let today = Utc::now().date_naive();
        let slot_id = match self.slot_id {
            None => {
                errors.add("slot_id", "slot_id is required");
                None
            }
            // Ids beyond the column's range exist nowhere.
            Some(id) => Some(i32::try_from(id).unwrap_or(-1)),
        };
        let patient = parse_patient(self.patient.as_ref(), today, &mut errors);
        let reason = match self.reason.as_deref() {
            Some(r) => errors.check("reason", parse_reason(r)).flatten(),
            None => None,
        };
        let source = match self.source.as_deref() {
            _ if by_staff => Some(BookingSource::named(BookingSource::FRONT_DESK)),
            Some(s) => errors.check("source", BookingSource::parse_public(s)),
            None => Some(BookingSource::named(BookingSource::WEBSITE)),
        };
        match (slot_id, patient, source) {
            (Some(slot_id), Some(patient), Some(source)) if errors.is_empty() => {
                Ok(BookingRequest {
                    slot_id,
                    patient,
                    reason,
                    source,
                    concern: None,
                })
            }
            _ => Err(errors.into()),
        }
    }
}

/// The patient of a request body, each bad or missing field recorded under `patient.<field>`.
pub(super) fn parse_patient(
    body: Option<&PatientBody>,
    today: chrono::NaiveDate,
    errors: &mut FieldErrors,
) -> Option<Patient> {
    let Some(p) = body else {
        errors.add("patient", "patient is required");
        return None;
    };
    if p.name.is_none() {
        errors.add("patient.name", "name is required");
    }
    if p.email.is_none() {
        errors.add("patient.email", "email is required");
    }
    let input = PatientInput {
        name: p.name.as_deref().unwrap_or_default(),
        email: p.email.as_deref().unwrap_or_default(),
        phone: p.phone.as_deref(),
        date_of_birth: p.date_of_birth.as_deref(),
    };
    Patient::parse(input, today, errors)
}

/// The `Idempotency-Key` header, if sent: 1 to 255 visible ASCII characters.
fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get(IDEMPOTENCY_HEADER) else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "{IDEMPOTENCY_HEADER} must be 1 to 255 visible ASCII characters"
            ))
        })?;
    Ok(Some(key.to_owned()))
}

fn json_response(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/json")
        .insert_header(("Cache-Control", "no-store"))
        .body(body)
}

#[utoipa::path(
    post,
    path = "/api/v1/bookings",
    tag = "bookings",
    security((), ("staff_jwt" = [])),
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Retry safely: the same key and body replay the first answer"),
    ),
    request_body = CreateBookingBody,
    responses(
        (status = 201, description = "Booked; the manage token opens this booking", body = BookingView),
        (status = 400),
        (status = 401),
        (status = 404, description = "No such slot"),
        (status = 409, description = "The slot is taken, blocked or has started"),
        (status = 413),
        (status = 422),
        (status = 429),
    ),
)]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: MaybeStaff,
    body: web::Json<CreateBookingBody>,
) -> Result<HttpResponse, ApiError> {
    reject_bots(body.company_website.as_deref())?;
    // Staff book for a patient on the phone or at the desk.
    let request = body.parse(staff.0.is_some())?;
    let actor = staff.0.map_or(Actor::Public, Actor::Staff);
    // A staff request is another request than the same body sent publicly: its key must not
    // replay the other's answer.
    let scope = if actor.is_staff() {
        "bookings:front_desk"
    } else {
        "bookings"
    };
    let lead = state.reminder_lead();
    let slot_id = request.slot_id;
    create_idempotently(
        &req,
        state,
        scope,
        &body.0,
        Some(move |conn: &mut db::DbConnection, now| appointments::screen_slot(conn, slot_id, now)),
        move |conn, now| appointments::book(conn, &request, &actor, lead, now),
    )
    .await
}

/// A form's honeypot: a field people never see, so only a naive bot fills it in.
pub(super) fn reject_bots(honeypot: Option<&str>) -> Result<(), ApiError> {
    match honeypot {
        Some(value) if !value.trim().is_empty() => Err(ApiError::BadRequest(
            "this request was rejected as automated".into(),
        )),
        _ => Ok(()),
    }
}

/// A read that may turn a booking request away before its write transaction.
type Screen = fn(&mut db::DbConnection, NaiveDateTime) -> Result<(), ApiError>;

/// For `create_idempotently` callers with nothing to check before the write.
pub(super) const NO_SCREEN: Option<Screen> = None;

/// Runs a booking-creating write with `Idempotency-Key` semantics: the same key and body
/// replay the first 201, the same key with another body is a 422, and without a key every
/// request books anew. `scope` keeps the keys of different endpoints (and of staff and public
/// callers) apart. `screen`, a read that may turn the request away early, runs before the write
/// transaction when there is no key (with a key, a replay must answer first).
pub(super) async fn create_idempotently<B, S, F>(
    req: &HttpRequest,
    state: web::Data<AppState>,
    scope: &'static str,
    body: &B,
    screen: Option<S>,
    book: F,
) -> Result<HttpResponse, ApiError>
where
    B: Serialize,
    S: FnOnce(&mut db::DbConnection, NaiveDateTime) -> Result<(), ApiError> + Send + 'static,
    F: FnOnce(&mut db::DbConnection, NaiveDateTime) -> Result<BookingDetails, ApiError>
        + Send
        + 'static,
{
    let key = idempotency_key(req)?;
    let mut hasher = Sha256::new();
    hasher.update(scope.as_bytes());
    hasher.update(serde_json::to_vec(body).map_err(anyhow::Error::from)?);
    let request_hash = hex::encode(hasher.finalize());
    let state2 = state.clone();
    let written = state
        .with_connection(move |conn| {
            if let (None, Some(screen)) = (&key, screen) {
                screen(conn, db::now())?;
            }
            db::write_transaction(conn, |conn| {
                let now = db::now();
                if let Some(key) = &key {
                    match idempotency::reserve(conn, key, &request_hash, now)? {
                        KeyState::Reserved => {}
                        KeyState::Replay { status, body } => return Ok((status, body, false)),
                        KeyState::Mismatch => {
                            return Err(ApiError::Unprocessable(format!(
                                "this {IDEMPOTENCY_HEADER} was already used for a different request"
                            )))
                        }
                    }
                }
                let details = book(conn, now)?;
                let mut view = BookingView::new(&details, &state2);
                let reference =
                    BookingReference::parse(&details.booking.reference).ok_or_else(|| {
                        ApiError::Internal(anyhow::anyhow!("stored reference is malformed"))
                    })?;
                view.manage_token = Some(
                    state2
                        .tokens
                        .issue_manage_token(&reference, details.slot.ends_at.and_utc())?,
                );
                view.confirmation_email = Some("queued");
                let body = serde_json::to_string(&view).map_err(anyhow::Error::from)?;
                if let Some(key) = &key {
                    idempotency::save(conn, key, StatusCode::CREATED.as_u16(), &body)?;
                }
                Ok((StatusCode::CREATED.as_u16(), body, true))
            })
        })
        .await;
    let (status, body, booked) = match written {
        Ok(written) => written,
        Err(e) => {
            if let ApiError::Conflict { .. } = e {
                state.metrics.booking_conflict();
            }
            return Err(e);
        }
    };
    // A replay answers again for a booking counted when it was made.
    if booked {
        state.metrics.booking_created();
    }
    state.wake_mail_worker();
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED);
    Ok(json_response(status, body))
}

fn reference_from_path(path: &str) -> Result<BookingReference, ApiError> {
    BookingReference::parse(path).ok_or_else(|| ApiError::not_found("booking"))
}

#[utoipa::path(
    get,
    path = "/api/v1/bookings/{reference}",
    tag = "bookings",
    security(("manage_token" = []), ("staff_jwt" = [])),
    params(
        ("reference" = String, Path, description = "The booking reference, e.g. BK-7Q2M9XA4KD", example = "BK-7Q2M9XA4KD"),
    ),
    responses(
        (status = 200, description = "The booking", body = BookingView),
        (status = 401),
        (status = 404, description = "No such booking"),
    ),
)]
pub async fn show(
    state: web::Data<AppState>,
    access: BookingAccess<AllRoles>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let reference = reference_from_path(&path)?;
    access.actor_for(&reference)?;
    let details = state
        .with_connection(move |conn| appointments::load(conn, &reference))
        .await?;
    let body =
        serde_json::to_string(&BookingView::new(&details, &state)).map_err(anyhow::Error::from)?;
    Ok(json_response(StatusCode::OK, body))
}

#[utoipa::path(
    post,
    path = "/api/v1/bookings/{reference}/cancel",
    tag = "bookings",
    security(("manage_token" = []), ("staff_jwt" = [])),
    params(
        ("reference" = String, Path, description = "The booking reference, e.g. BK-7Q2M9XA4KD", example = "BK-7Q2M9XA4KD"),
    ),
    responses(
        (status = 200, description = "Cancelled; the slot is free again", body = BookingView),
        (status = 401),
        (status = 404, description = "No such booking"),
        (status = 409, description = "Not cancellable now; see allowed_next_states"),
    ),
)]
pub async fn cancel(
    state: web::Data<AppState>,
    access: BookingAccess<AllRoles>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let reference = reference_from_path(&path)?;
    let actor = access.actor_for(&reference)?;
    let details = state
        .with_connection(move |conn| {
            db::write_transaction(conn, |conn| {
                appointments::cancel(conn, &reference, &actor, db::now())
            })
        })
        .await?;
    state.metrics.booking_cancelled();
    state.wake_mail_worker();
    let body =
        serde_json::to_string(&BookingView::new(&details, &state)).map_err(anyhow::Error::from)?;
    Ok(json_response(StatusCode::OK, body))
}

#[utoipa::path(
    post,
    path = "/api/v1/bookings/{reference}/reschedule",
    tag = "bookings",
    security(("manage_token" = []), ("staff_jwt" = [])),
    params(
        ("reference" = String, Path, description = "The booking reference, e.g. BK-7Q2M9XA4KD", example = "BK-7Q2M9XA4KD"),
    ),
    request_body = RescheduleBody,
    responses(
        (status = 200, description = "Moved to the new slot", body = BookingView),
        (status = 400),
        (status = 401),
        (status = 404, description = "No such booking or slot"),
        (status = 409, description = "The new slot is taken, or the booking cannot move; nothing changed"),
        (status = 413),
    ),
)]
pub async fn reschedule(
    state: web::Data<AppState>,
    access: BookingAccess<AllRoles>,
    path: web::Path<String>,
    body: web::Json<RescheduleBody>,
) -> Result<HttpResponse, ApiError> {
    let reference = reference_from_path(&path)?;
    let actor = access.actor_for(&reference)?;
    let new_slot_id = i32::try_from(body.slot_id).map_err(|_| ApiError::not_found("slot"))?;
    let lead = state.reminder_lead();
    let details = state
        .with_connection(move |conn| {
            db::write_transaction(conn, |conn| {
                appointments::reschedule(conn, &reference, new_slot_id, &actor, lead, db::now())
            })
        })
        .await?;
    state.wake_mail_worker();
    let body =
        serde_json::to_string(&BookingView::new(&details, &state)).map_err(anyhow::Error::from)?;
    Ok(json_response(StatusCode::OK, body))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    status: String,
}

/// `PATCH /api/v1/bookings/{reference}`: check-in (`arrived`), `completed`, `no_show`,
/// `cancelled`, as the booking's life cycle allows.
#[utoipa::path(
    patch,
    path = "/api/v1/bookings/{reference}",
    tag = "staff",
    security(("staff_jwt" = [])),
    params(
        ("reference" = String, Path, description = "The booking reference, e.g. BK-7Q2M9XA4KD", example = "BK-7Q2M9XA4KD"),
    ),
    request_body = StatusBody,
    responses(
        (status = 200, description = "The booking in its new state", body = BookingView),
        (status = 400),
        (status = 401),
        (status = 403),
        (status = 404, description = "No such booking"),
        (status = 409, description = "Not a legal transition; see allowed_next_states"),
        (status = 413),
        (status = 422),
    ),
)]
pub async fn update_status(
    state: web::Data<AppState>,
    staff: AnyStaff,
    path: web::Path<String>,
    body: web::Json<StatusBody>,
) -> Result<HttpResponse, ApiError> {
    let reference = reference_from_path(&path)?;
    let target = BookingStatus::parse(body.status.trim()).ok_or_else(|| {
        let names: Vec<&str> = BookingStatus::ALL.iter().map(|s| s.as_str()).collect();
        ApiError::invalid(
            "status",
            format!("status must be one of {}", names.join(", ")),
        )
    })?;
    let actor = staff.actor();
    let details = state
        .with_connection(move |conn| {
            db::write_transaction(conn, |conn| {
                appointments::set_status(conn, &reference, target, &actor, db::now())
            })
        })
        .await?;
    if target == BookingStatus::Cancelled {
        state.metrics.booking_cancelled();
        state.wake_mail_worker();
    }
    let body =
        serde_json::to_string(&BookingView::new(&details, &state)).map_err(anyhow::Error::from)?;
    Ok(json_response(StatusCode::OK, body))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DaySheetQuery {
    date: Option<String>,
    provider_id: Option<i64>,
    status: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct DaySheet {
    date: String,
    timezone: String,
    items: Vec<BookingView>,
}

/// `GET /api/v1/bookings?date=&provider_id=&status=`: one local day's bookings (default today),
/// ordered by start, with patient details.
#[utoipa::path(
    get,
    path = "/api/v1/bookings",
    tag = "staff",
    security(("staff_jwt" = [])),
    params(DaySheetQuery),
    responses(
        (status = 200, description = "The bookings of the day with patient details, in local time", body = DaySheet),
        (status = 400),
        (status = 401),
        (status = 403),
        (status = 404, description = "No such provider"),
    ),
)]
pub async fn day_sheet(
    state: web::Data<AppState>,
    _staff: AnyStaff,
    query: web::Query<DaySheetQuery>,
) -> Result<HttpResponse, ApiError> {
    let tz = state.settings.clinic.timezone;
    let query = query.into_inner();
    let date = match query.date.as_deref() {
        Some(d) => chrono::NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
            .map_err(|_| ApiError::BadRequest("`date` must be a date as YYYY-MM-DD".into()))?,
        None => Utc::now().with_timezone(&tz).date_naive(),
    };
    let status = match query.status.as_deref() {
        Some(s) => Some(BookingStatus::parse(s.trim()).ok_or_else(|| {
            ApiError::BadRequest(format!("`status` {s:?} is not a booking status"))
        })?),
        None => None,
    };
    let provider_id = match query.provider_id {
        Some(id) => Some(i32::try_from(id).map_err(|_| ApiError::not_found("provider"))?),
        None => None,
    };
    let day_start = start_of_local_day(date, tz);
    let day_end = date
        .succ_opt()
        .and_then(|next| start_of_local_day(next, tz));
    let (Some(from), Some(to)) = (day_start, day_end) else {
        return Err(ApiError::BadRequest("`date` is out of range".into()));
    };
    let (from, to) = (from.naive_utc(), to.naive_utc());
    let rows = state
        .with_connection(move |conn| {
            Ok(db::bookings::starting_between(
                conn,
                from,
                to,
                provider_id,
                status,
            )?)
        })
        .await?;
    let items = rows
        .into_iter()
        .map(|(booking, slot, provider)| {
            BookingView::new(
                &BookingDetails {
                    booking,
                    slot,
                    provider,
                },
                &state,
            )
        })
        .collect();
    let body = serde_json::to_string(&DaySheet {
        date: date.to_string(),
        timezone: tz.name().to_owned(),
        items,
    })
    .map_err(anyhow::Error::from)?;
    Ok(json_response(StatusCode::OK, body))
}
