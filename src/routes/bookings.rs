//! Bookings: create (with `Idempotency-Key`; by a patient, or by staff for a patient), read /
//! cancel / reschedule with the booking's manage token or a staff token, the front desk's day
//! sheet, and status changes (check-in, completion, no-show). Each change that makes, cancels or
//! moves a booking may carry a staff member's `override` of the booking rules.

use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use chrono::Utc;
use futures::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::Object;

use super::patient_form::{
    accepted_language, honeypot_schema, parse_patient, parse_reason_field, parse_source_field,
    parse_visit_type_field, reject_bots, PatientBody,
};
use super::views::{
    booking_example, booking_json, booking_status_schema, hold_token_schema, new_booking_example,
    new_booking_json, or_null, private_json, public_source, requested_id, time_zone_schema,
    BookingView, TypedReference,
};
use crate::clinic::appointments::{self, BookingDetails, HoldClaim, Intake};
use crate::clinic::locations::{self, Directory};
use crate::db;
use crate::domain::actor::Actor;
use crate::domain::booking::{BookingReference, BookingSource, BookingStatus};
use crate::domain::calendar;
use crate::domain::hold::HoldToken;
use crate::domain::ids::{LocationId, PatientId, ProviderId, SlotId};
use crate::domain::language::Language;
use crate::domain::rules::RuleOverride;
use crate::domain::slot::start_of_local_day;
use crate::domain::FieldErrors;
use crate::error::ApiError;
use crate::idempotency::{self, Answer};
use crate::routes::access::{AllRoles, AnyStaff, BookingAccess, MaybeStaff};
use crate::state::AppState;

/// Staff only: sets the booking rules' notice, horizon and cut-off aside for this one change,
/// saying why; the audit log keeps the reason and the rules it set aside. A patient's request
/// that carries it is refused (422).
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Walk-in with acute back pain, seen between two patients"}))]
pub(super) struct OverrideBody {
    /// Why the rules are set aside, in a few words: 1 to 500 characters. Kept in the audit log
    /// (which admins read), nowhere else.
    #[schema(min_length = 1, max_length = 500)]
    reason: String,
}

/// The override a body carries, if any; a bad reason is recorded under `override.reason`.
fn parse_override(body: Option<&OverrideBody>, errors: &mut FieldErrors) -> Option<RuleOverride> {
    errors.check("override.reason", RuleOverride::parse(&body?.reason))
}

/// The override a body carries, if any, or a 422 naming its bad reason.
pub(super) fn override_only(body: Option<&OverrideBody>) -> Result<Option<RuleOverride>, ApiError> {
    let mut errors = FieldErrors::default();
    let overriding = parse_override(body, &mut errors);
    if errors.is_empty() {
        Ok(overriding)
    } else {
        Err(errors.into())
    }
}

/// A JSON body a request may leave out (no body, an empty one, or `null`): `None` then. A body
/// that is there is read as `web::Json` reads it, with its limits and its 400s; `Option<Json<T>>`
/// would quietly turn a malformed body into none.
pub(super) struct OptionalJson<T>(pub(super) Option<T>);

impl<T: DeserializeOwned + 'static> FromRequest for OptionalJson<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let headers = req.headers();
        let empty = headers.get(header::TRANSFER_ENCODING).is_none()
            && headers
                .get(header::CONTENT_LENGTH)
                .is_none_or(|length| length.as_bytes() == b"0");
        if empty {
            return Box::pin(async { Ok(Self(None)) });
        }
        // `null` is no body too, as the document's `oneOf: [body, null]` says.
        let json = web::Json::<Option<T>>::from_request(req, payload);
        Box::pin(async move { Ok(Self(json.await?.into_inner())) })
    }
}

/// A booking request. `slot_id` and `patient` are required: without them the answer is a 422
/// naming them (they are `Option` here so that every missing field is named at once).
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "slot_id": 42,
    "patient": {"name": "Ana Díaz", "email": "ana@example.com", "phone": "+1 602 555 0134", "sms_consent": true},
    "reason": "Lower-back pain",
    "source": "stress-and-back-pain"
}))]
pub(super) struct CreateBookingBody {
    /// A free slot's `id` (from `GET /api/v1/slots`; with `visit_type_id`, from
    /// `GET /api/v1/slots?visit_type_id=`).
    #[schema(required = true, nullable = false, minimum = 1, maximum = 2147483647, format = Int64)]
    slot_id: Option<i64>,
    /// The kind of visit (`GET /api/v1/visit-types`): the visit holds the slots from `slot_id`
    /// on for its duration and buffer. Without it the visit is exactly the slot.
    #[schema(minimum = 1, maximum = 2147483647, format = Int64)]
    visit_type_id: Option<i64>,
    #[schema(required = true, nullable = false)]
    patient: Option<PatientBody>,
    /// Why the patient is coming, up to 1000 characters.
    #[schema(max_length = 1000)]
    reason: Option<String>,
    #[schema(schema_with = source_field_schema)]
    source: Option<String>,
    #[schema(schema_with = honeypot_schema)]
    company_website: Option<String>,
    /// Staff only: book outside the notice or the horizon, saying why.
    #[serde(rename = "override")]
    overriding: Option<OverrideBody>,
    /// The token of the hold the patient took on this time (`POST /api/v1/holds`, the same
    /// `slot_id` and `visit_type_id`): while it lasts, nobody else can book the time. An
    /// expired hold keeps nothing, and the booking goes on without it.
    #[schema(schema_with = hold_token_schema)]
    hold_token: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"slot_id": 43}))]
pub(super) struct RescheduleBody {
    /// The free slot to move to.
    #[schema(minimum = 1, maximum = 2147483647)]
    slot_id: i64,
    /// Staff only: move the visit past the cut-off, or to a time outside the notice or the
    /// horizon, saying why.
    #[serde(rename = "override")]
    overriding: Option<OverrideBody>,
}

fn source_field_schema() -> Object {
    or_null(public_source())
        .description(Some(
            "Where the booking came from: an article's slug (lowercase letters, digits, `-`, \
             `_`). Default `website`; staff bookings are always `front_desk`.",
        ))
        .build()
}

/// What a cancellation may say: nothing (no body), or a staff member's override of the cut-off.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"override": {"reason": "The patient called: a family emergency"}}))]
pub(super) struct CancelBody {
    /// Staff only: cancel past the cut-off, saying why.
    #[serde(rename = "override")]
    pub(super) overriding: Option<OverrideBody>,
}

/// What a staff booking says beyond the patient's form.
type Parsed = (SlotId, Intake, Option<RuleOverride>);

impl CreateBookingBody {
    /// The slot, the intake and the override, or a 422 naming every bad field. Staff bookings
    /// are `front_desk` whatever the body names as source.
    fn parse(&self, by_staff: bool, accepted: Language) -> Result<Parsed, ApiError> {
        let mut errors = FieldErrors::default();
        let today = Utc::now().date_naive();
        let slot_id = match self.slot_id {
            None => {
                errors.add("slot_id", "slot_id is required");
                None
            }
            // An id beyond the column's range names no slot: 404 once the fields are valid.
            Some(id) => Some(SlotId::try_from(id).ok()),
        };
        let patient = parse_patient(self.patient.as_ref(), (today, accepted), &mut errors);
        let reason = parse_reason_field(self.reason.as_deref(), &mut errors);
        let visit_type_id = parse_visit_type_field(self.visit_type_id, &mut errors);
        let source = if by_staff {
            Some(BookingSource::named(BookingSource::FRONT_DESK))
        } else {
            parse_source_field(self.source.as_deref(), BookingSource::WEBSITE, &mut errors)
        };
        let overriding = parse_override(self.overriding.as_ref(), &mut errors);
        let hold = self.hold_token.as_deref().and_then(|token| {
            let parsed = HoldToken::parse(token);
            if parsed.is_none() {
                errors.add("hold_token", "is not a hold token (`POST /api/v1/holds`)");
            }
            parsed.map(HoldClaim::Token)
        });
        match (slot_id, patient, source) {
            (Some(None), Some(_), Some(_)) if errors.is_empty() => Err(ApiError::not_found("slot")),
            (Some(Some(slot_id)), Some(patient), Some(source)) if errors.is_empty() => Ok((
                slot_id,
                Intake {
                    patient,
                    reason,
                    source,
                    concern: None,
                    visit_type_id,
                    series_id: None,
                    hold,
                },
                overriding,
            )),
            _ => Err(errors.into()),
        }
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/bookings",
    operation_id = "createBooking",
    summary = "Book a slot",
    description = "Books a free slot for a patient (with a staff token, for a caller: the source is `front_desk`). \
The booking rules apply (`GET /api/v1/booking-policy`): the minimum notice, the horizon and the most upcoming visits per email address; \
staff may set the first two aside with `override`. Retrying with the same `Idempotency-Key` and body replays the first answer.",
    tag = "bookings",
    security((), ("staff_jwt" = [])),
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Retry safely: the same key and body replay the first answer", max_length = 255, pattern = "^[!-~]+$"),
    ),
    request_body = CreateBookingBody,
    responses(
        (status = 201, description = "Booked; the manage token opens this booking", body = BookingView, example = new_booking_example),
        (status = 400),
        (status = 401),
        (status = 404, description = "No such slot"),
        (status = 409, description = "The slot is taken, blocked or has started; or a booking rule refuses it (`rule`: min_notice, horizon or max_active)"),
        (status = 413),
        (status = 422, description = "Invalid fields, named in `errors` (`override` from anyone but staff)"),
        (status = 429),
    ),
)]
pub(super) async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: MaybeStaff,
    body: web::Json<CreateBookingBody>,
) -> Result<HttpResponse, ApiError> {
    reject_bots(body.company_website.as_deref())?;
    // Staff book for a patient on the phone or at the desk.
    let (slot_id, intake, overriding) = body.parse(staff.0.is_some(), accepted_language(&req))?;
    let actor = staff.0.map_or(Actor::Public, Actor::Staff);
    // A staff request is another request than the same body sent publicly: its key must not
    // replay the other's answer.
    let scope = if actor.is_staff() {
        "bookings:front_desk"
    } else {
        "bookings"
    };
    let policy = state.policy.clone();
    let app = state.clone();
    let with_hold = intake.hold.is_some();
    let answer = idempotency::run_once(
        &req,
        &state,
        scope,
        &body.0,
        StatusCode::CREATED,
        Some(move |conn: &mut db::DbConnection, now| {
            Ok(appointments::screen_slot(conn, slot_id, with_hold, now)?)
        }),
        move |conn, now| {
            let details = appointments::book(
                conn,
                slot_id,
                &intake,
                &actor,
                &policy,
                overriding.as_ref(),
                now,
            )?;
            new_booking_json(&details, &app)
        },
    )
    .await;
    booking_answered(&state, answer)
}

/// Counts a booking made (or refused for a taken slot), wakes the mail worker for its
/// confirmation, and answers. A replay answers again for a booking counted when it was made. A
/// booking rule's refusal is not a conflict over a slot, and is not counted as one.
pub(super) fn booking_answered(
    state: &AppState,
    answer: Result<Answer, ApiError>,
) -> Result<HttpResponse, ApiError> {
    Ok(booking_counted(state, answer)?.into_response())
}

/// `booking_answered`'s counting and waking, for an answer rendered elsewhere (FHIR's).
pub(super) fn booking_counted(
    state: &AppState,
    answer: Result<Answer, ApiError>,
) -> Result<Answer, ApiError> {
    let answer = answer.inspect_err(|e| {
        if let ApiError::Conflict { extra, .. } = e {
            if !extra.contains_key("rule") {
                state.metrics.booking_conflict();
            }
        }
    })?;
    if answer.fresh {
        state.metrics.booking_created();
    }
    state.wake_mail_worker();
    Ok(answer)
}

/// A booking's address: its reference, as a patient may type it. One that does not parse names
/// no booking: 404, like an unknown one.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(super) struct BookingPath {
    /// The booking reference, e.g. BK-7Q2M9XA4KD
    #[param(value_type = TypedReference, inline, example = "BK-7Q2M9XA4KD")]
    reference: String,
}

fn reference_from_path(path: &str) -> Result<BookingReference, ApiError> {
    BookingReference::parse(path).ok_or_else(|| ApiError::not_found("booking"))
}

#[utoipa::path(
    get,
    path = "/api/v1/bookings/{reference}",
    operation_id = "getBooking",
    summary = "Read a booking",
    description = "With the booking's manage token or any staff token.",
    tag = "bookings",
    security(("manage_token" = []), ("staff_jwt" = [])),
    params(BookingPath),
    responses(
        (status = 200, description = "The booking", body = BookingView, example = booking_example),
        (status = 401),
        (status = 404, description = "No such booking"),
    ),
)]
pub(super) async fn show(
    state: web::Data<AppState>,
    access: BookingAccess<AllRoles>,
    path: web::Path<BookingPath>,
) -> Result<HttpResponse, ApiError> {
    let reference = reference_from_path(&path.reference)?;
    access.actor_for(&reference)?;
    let details = state
        .with_connection(move |conn| appointments::load(conn, &reference))
        .await?;
    Ok(private_json(booking_json(&details)?))
}

#[utoipa::path(
    get,
    path = "/api/v1/bookings/{reference}/calendar.ics",
    operation_id = "getBookingCalendarFile",
    summary = "A booking as a calendar file",
    description = "The visit as an iCalendar event (the same one the confirmation mail attaches, in \
the booking's language), for an \"add to calendar\" download from the booking page. With the \
booking's manage token or any staff token.",
    tag = "bookings",
    security(("manage_token" = []), ("staff_jwt" = [])),
    params(BookingPath),
    responses(
        (status = 200, description = "The visit's event", body = String, content_type = "text/calendar"),
        (status = 401),
        (status = 404, description = "No such booking"),
    ),
)]
pub(super) async fn calendar_file(
    state: web::Data<AppState>,
    access: BookingAccess<AllRoles>,
    path: web::Path<BookingPath>,
) -> Result<HttpResponse, ApiError> {
    let reference = reference_from_path(&path.reference)?;
    access.actor_for(&reference)?;
    let lookup = reference.clone();
    let details = state
        .with_connection(move |conn| appointments::load(conn, &lookup))
        .await?;
    let end = details.slot.ends_at.and_utc();
    let token = state.tokens.issue_manage_token(&reference, end)?;
    let base = state.settings.clinic.public_base_url.trim_end_matches('/');
    let manage_url = format!("{base}/book?reference={}&token={token}", reference.as_str());
    let (summary, place, description) =
        crate::mail::render::visit_event_texts(&details, &manage_url);
    let organizer: lettre::message::Mailbox = state
        .settings
        .mail
        .from
        .parse()
        .map_err(|e| anyhow::anyhow!("mail.from: {e}"))?;
    let event = crate::mail::ics::Invitation {
        uid: format!("{}@clinic-booking", reference.as_str()),
        sequence: 0,
        start: details.slot.starts_at.and_utc(),
        end,
        summary: &summary,
        location: &place,
        description: &description,
        organizer_email: organizer.email.as_ref(),
        organizer_name: &state.settings.clinic.name,
        attendee_email: &details.booking.patient_email,
        cancelled: details.booking.status == BookingStatus::Cancelled,
        stamp: Utc::now(),
    };
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}.ics\"", reference.as_str()),
        ))
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .body(event.to_ics()))
}

#[utoipa::path(
    post,
    path = "/api/v1/bookings/{reference}/cancel",
    operation_id = "cancelBooking",
    summary = "Cancel a booking",
    description = "Frees the slot and sends the cancellation. Online, a visit can be cancelled until the booking rules' cut-off before it starts \
(`GET /api/v1/booking-policy`); later, patients are told to call. Staff may cancel later with `override`, even once the visit has started. \
The body is optional.",
    tag = "bookings",
    security(("manage_token" = []), ("staff_jwt" = [])),
    params(BookingPath),
    request_body(content = Option<CancelBody>, description = "Optional: a staff member's override of the cut-off", example = json!({"override": {"reason": "The patient called: a family emergency"}})),
    responses(
        (status = 200, description = "Cancelled; the slot is free again", body = BookingView),
        (status = 400),
        (status = 401),
        (status = 404, description = "No such booking"),
        (status = 409, description = "Not cancellable now: see allowed_next_states, or `rule` (cancel_cutoff) with the clinic's phone"),
        (status = 413),
        (status = 422, description = "Invalid fields, named in `errors` (`override` from anyone but staff)"),
    ),
)]
pub(super) async fn cancel(
    state: web::Data<AppState>,
    access: BookingAccess<AllRoles>,
    path: web::Path<BookingPath>,
    body: OptionalJson<CancelBody>,
) -> Result<HttpResponse, ApiError> {
    let reference = reference_from_path(&path.reference)?;
    let actor = access.actor_for(&reference)?;
    let overriding = override_only(body.0.as_ref().and_then(|b| b.overriding.as_ref()))?;
    let policy = state.policy.clone();
    let details = state
        .with_connection(move |conn| {
            db::write_transaction(conn, |conn| {
                let overriding = overriding.as_ref();
                appointments::cancel(conn, &reference, &actor, &policy, overriding, db::now())
            })
        })
        .await?;
    state.metrics.booking_cancelled();
    state.wake_mail_worker();
    Ok(private_json(booking_json(&details)?))
}

#[utoipa::path(
    post,
    path = "/api/v1/bookings/{reference}/reschedule",
    operation_id = "rescheduleBooking",
    summary = "Move a booking to another slot",
    description = "In one transaction: if the new slot is taken nothing changes (409). The booking rules apply \
(`GET /api/v1/booking-policy`): the visit can be moved online until the cut-off before it starts, and the new time must respect the minimum notice and the horizon; \
staff may set them aside with `override`.",
    tag = "bookings",
    security(("manage_token" = []), ("staff_jwt" = [])),
    params(BookingPath),
    request_body = RescheduleBody,
    responses(
        (status = 200, description = "Moved to the new slot", body = BookingView),
        (status = 400),
        (status = 401),
        (status = 404, description = "No such booking or slot"),
        (status = 409, description = "The new slot is taken, the booking cannot move, or a booking rule refuses it (`rule`: cancel_cutoff, min_notice or horizon); nothing changed"),
        (status = 413),
        (status = 422, description = "Invalid fields, named in `errors` (`override` from anyone but staff)"),
    ),
)]
pub(super) async fn reschedule(
    state: web::Data<AppState>,
    access: BookingAccess<AllRoles>,
    path: web::Path<BookingPath>,
    body: web::Json<RescheduleBody>,
) -> Result<HttpResponse, ApiError> {
    let reference = reference_from_path(&path.reference)?;
    let actor = access.actor_for(&reference)?;
    let overriding = override_only(body.overriding.as_ref())?;
    let new_slot_id = SlotId::try_from(body.slot_id).map_err(|_| ApiError::not_found("slot"))?;
    let policy = state.policy.clone();
    let details = state
        .with_connection(move |conn| {
            db::write_transaction(conn, |conn| {
                appointments::reschedule(
                    conn,
                    &reference,
                    new_slot_id,
                    &actor,
                    &policy,
                    overriding.as_ref(),
                    db::now(),
                )
            })
        })
        .await?;
    state.wake_mail_worker();
    Ok(private_json(booking_json(&details)?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "arrived"}))]
pub(super) struct StatusBody {
    #[schema(schema_with = booking_status_schema)]
    status: String,
    /// With `cancelled` only: cancel past the booking rules' cut-off, saying why.
    #[serde(rename = "override")]
    overriding: Option<OverrideBody>,
}

/// `PATCH /api/v1/bookings/{reference}`: check-in (`arrived`), `completed`, `no_show`,
/// `cancelled`, as the booking's life cycle allows.
#[utoipa::path(
    patch,
    path = "/api/v1/bookings/{reference}",
    operation_id = "updateBookingStatus",
    summary = "Change a booking's status",
    description = "Check-in (`arrived`, from 12 hours before the visit until 12 hours after), `completed`, `no_show` (once the visit has started) \
or `cancelled`, as the life cycle allows. Cancelling follows the booking rules' cut-off, which `override` sets aside.",
    tag = "staff",
    security(("staff_jwt" = [])),
    params(BookingPath),
    request_body = StatusBody,
    responses(
        (status = 200, description = "The booking in its new state", body = BookingView),
        (status = 400),
        (status = 401),
        (status = 403),
        (status = 404, description = "No such booking"),
        (status = 409, description = "Not a legal transition (see allowed_next_states), or past the cut-off (`rule`: cancel_cutoff)"),
        (status = 413),
        (status = 422),
    ),
)]
pub(super) async fn update_status(
    state: web::Data<AppState>,
    staff: AnyStaff,
    path: web::Path<BookingPath>,
    body: web::Json<StatusBody>,
) -> Result<HttpResponse, ApiError> {
    let reference = reference_from_path(&path.reference)?;
    let target = BookingStatus::parse(body.status.trim()).ok_or_else(|| {
        let names: Vec<&str> = BookingStatus::ALL.iter().map(|s| s.as_str()).collect();
        ApiError::invalid(
            "status",
            format!("status must be one of {}", names.join(", ")),
        )
    })?;
    let overriding = override_only(body.overriding.as_ref())?;
    let actor = staff.actor();
    let policy = state.policy.clone();
    let details = state
        .with_connection(move |conn| {
            db::write_transaction(conn, |conn| {
                let overriding = overriding.as_ref();
                appointments::set_status(
                    conn,
                    &reference,
                    target,
                    &actor,
                    &policy,
                    overriding,
                    db::now(),
                )
            })
        })
        .await?;
    if target == BookingStatus::Cancelled {
        state.metrics.booking_cancelled();
        state.wake_mail_worker();
    }
    Ok(private_json(booking_json(&details)?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct DaySheetQuery {
    /// The local day (default today): in the location's time zone with `location_id`, in the
    /// clinic's otherwise.
    #[param(format = Date, max_length = 10)]
    date: Option<String>,
    #[param(minimum = 1, maximum = 2147483647)]
    provider_id: Option<i64>,
    /// Only the visits at this location (`GET /api/v1/locations`).
    #[param(minimum = 1, maximum = 2147483647)]
    location_id: Option<i64>,
    #[param(schema_with = booking_status_schema)]
    status: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct DaySheet {
    #[schema(format = Date)]
    date: String,
    /// The zone the day is read in: the location's, or the clinic's.
    #[schema(schema_with = time_zone_schema)]
    timezone: String,
    /// The location asked for, if any; each item names its own.
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 2147483647)]
    location_id: Option<i32>,
    #[schema(max_items = 10000)]
    items: Vec<DaySheetEntry>,
}

/// A booking on the day sheet: the booking, its patient's record and the staff notes about the
/// patient and this visit.
#[derive(Serialize, utoipa::ToSchema)]
struct DaySheetEntry {
    #[serde(flatten)]
    booking: BookingView,
    /// The patient's record (`GET /api/v1/patients/{id}`).
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 2147483647)]
    patient_id: Option<i32>,
    /// Staff notes about the patient and about this visit, oldest first. Never sent to them.
    #[schema(max_items = 10000)]
    notes: Vec<super::patients::NoteJson>,
}

/// `GET /api/v1/bookings?date=&provider_id=&location_id=&status=`: one local day's bookings
/// (default today), ordered by start, with patient details and where each visit is.
#[utoipa::path(
    get,
    path = "/api/v1/bookings",
    operation_id = "getDaySheet",
    summary = "The day sheet",
    description = "One local day's bookings (default today), ordered by start, with patient \
details and each visit's location. With `location_id`, only that location's, its day read in its \
time zone.",
    tag = "staff",
    security(("staff_jwt" = [])),
    params(DaySheetQuery),
    responses(
        (status = 200, description = "The bookings of the day with patient details, in local time", body = DaySheet),
        (status = 400),
        (status = 401),
        (status = 403),
        (status = 404, description = "No such provider or location"),
    ),
)]
pub(super) async fn day_sheet(
    state: web::Data<AppState>,
    _staff: AnyStaff,
    query: web::Query<DaySheetQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let date = match query.date.as_deref() {
        Some(d) => {
            Some(calendar::parse_date(d).map_err(|m| ApiError::BadRequest(format!("`date` {m}")))?)
        }
        None => None,
    };
    let status = match query.status.as_deref() {
        Some(s) => Some(BookingStatus::parse(s.trim()).ok_or_else(|| {
            ApiError::BadRequest(format!("`status` {s:?} is not a booking status"))
        })?),
        None => None,
    };
    let provider_id: Option<ProviderId> = requested_id(query.provider_id, "provider")?;
    let location_id: Option<LocationId> = requested_id(query.location_id, "location")?;
    let clinic_tz = state.settings.clinic.timezone;
    let (date, tz, rows, places, visit_types, notes) = state
        .with_connection(move |conn| {
            let places = Directory::load(conn)?;
            let place = match location_id {
                Some(id) => Some(locations::place(conn, id)?),
                None => None,
            };
            let tz = match location_id {
                Some(id) => places.of(Some(id)).timezone.tz(),
                None => clinic_tz,
            };
            let date = date.unwrap_or_else(|| Utc::now().with_timezone(&tz).date_naive());
            let day_start = start_of_local_day(date, tz);
            let day_end = date
                .succ_opt()
                .and_then(|next| start_of_local_day(next, tz));
            let (Some(from), Some(to)) = (day_start, day_end) else {
                return Err(ApiError::BadRequest("`date` is out of range".into()));
            };
            let (from, to) = (from.naive_utc(), to.naive_utc());
            let filter = db::bookings::BookingFilter {
                from: Some(from),
                until: Some(to),
                provider_id,
                place,
                statuses: status.into_iter().collect(),
                ..Default::default()
            };
            let rows = db::bookings::search(conn, &filter)?;
            let mut patients: Vec<PatientId> =
                rows.iter().filter_map(|(b, _, _)| b.patient_id).collect();
            patients.sort_unstable();
            patients.dedup();
            let notes = db::notes::of_patients(conn, &patients)?;
            // A clinic has a handful of visit types: one read names them all.
            let visit_types = db::visit_types::list(conn, false)?;
            // An empty sheet for a provider who does not exist is a 404, not a quiet day.
            if let (true, Some(id)) = (rows.is_empty(), provider_id) {
                db::providers::find(conn, id)?.ok_or_else(|| ApiError::not_found("provider"))?;
            }
            Ok::<_, ApiError>((date, tz, rows, places, visit_types, notes))
        })
        .await?;
    let items = rows
        .into_iter()
        .map(|(booking, slot, provider)| {
            let visit_type = visit_types
                .iter()
                .find(|v| Some(v.id) == booking.visit_type_id)
                .cloned();
            let location = places.of(slot.location_id).clone();
            let about = |n: &&db::notes::NoteView| {
                Some(n.note.patient_id) == booking.patient_id
                    && n.note.booking_id.is_none_or(|b| b == booking.id)
            };
            let notes = notes.iter().filter(about).map(Into::into).collect();
            let patient_id = booking.patient_id.map(PatientId::get);
            DaySheetEntry {
                booking: BookingView::new(&BookingDetails::new(
                    booking, slot, provider, visit_type, location,
                )),
                patient_id,
                notes,
            }
        })
        .collect();
    let body = serde_json::to_string(&DaySheet {
        date: date.to_string(),
        timezone: tz.name().to_owned(),
        location_id: location_id.map(LocationId::get),
        items,
    })
    .map_err(anyhow::Error::from)?;
    Ok(private_json(body))
}
