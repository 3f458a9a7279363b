//! Courses of care: book a series of visits all at once (staff; patients where the visit type
//! allows it), read it and cancel its future visits (staff).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::bookings::{booking_answered, override_only, CancelBody, OptionalJson, OverrideBody};
use super::patient_form::{
    accepted_language, honeypot_schema, parse_patient, parse_reason_field, parse_source_field,
    parse_visit_type_field, reject_bots, PatientBody,
};
use super::views::{new_booking_view, private_json, BookingView};
use crate::clinic::appointments::Intake;
use crate::clinic::series::{self, SeriesDetails, SeriesRequest};
use crate::db;
use crate::domain::actor::Actor;
use crate::domain::booking::{BookingSource, SeriesReference};
use crate::domain::ids::SlotId;
use crate::domain::language::Language;
use crate::domain::series::{MAX_INTERVAL_WEEKS, MAX_VISITS, MIN_VISITS};
use crate::domain::FieldErrors;
use crate::error::ApiError;
use crate::idempotency::{self, NO_SCREEN};
use crate::routes::access::{AnyStaff, MaybeStaff};
use crate::state::AppState;

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "slot_id": 42, "visit_type_id": 3, "visits": 6, "interval_weeks": 1,
    "patient": {"name": "Ana Díaz", "email": "ana@example.com"}
}))]
pub(super) struct CreateSeriesBody {
    /// The first visit: a start where the visit type fits (`GET /api/v1/slots?visit_type_id=`).
    #[schema(required = true, nullable = false, minimum = 1, maximum = 2147483647, format = Int64)]
    slot_id: Option<i64>,
    #[schema(required = true, nullable = false, minimum = 1, maximum = 2147483647, format = Int64)]
    visit_type_id: Option<i64>,
    /// How many visits, the first included.
    #[schema(required = true, nullable = false, minimum = 2, maximum = 12)]
    visits: Option<i64>,
    /// Weeks between visits (default 1: weekly).
    #[schema(minimum = 1, maximum = 4)]
    interval_weeks: Option<i64>,
    #[schema(required = true, nullable = false)]
    patient: Option<PatientBody>,
    #[schema(max_length = 1000)]
    reason: Option<String>,
    #[schema(max_length = 64, pattern = "^[a-z0-9_-]+$")]
    source: Option<String>,
    #[schema(schema_with = honeypot_schema)]
    company_website: Option<String>,
    /// Staff only: book visits outside the notice or the horizon, saying why.
    #[serde(rename = "override")]
    overriding: Option<OverrideBody>,
}

impl CreateSeriesBody {
    fn parse(
        &self,
        by_staff: bool,
        accepted: Language,
    ) -> Result<(SeriesRequest, Intake), ApiError> {
        let mut errors = FieldErrors::default();
        if self.overriding.is_some() && !by_staff {
            errors.add(
                "override",
                "only staff may set the booking rules aside; leave `override` out",
            );
        }
        let today = Utc::now().date_naive();
        let slot_id = match self.slot_id {
            None => {
                errors.add("slot_id", "slot_id is required");
                None
            }
            Some(id) => Some(SlotId::try_from(id).map_err(|_| ApiError::not_found("slot"))?),
        };
        if self.visit_type_id.is_none() {
            errors.add("visit_type_id", "visit_type_id is required");
        }
        let visit_type_id = parse_visit_type_field(self.visit_type_id, &mut errors);
        let visits = match self.visits {
            Some(n) if (MIN_VISITS..=MAX_VISITS).contains(&n) => Some(n),
            _ => {
                errors.add(
                    "visits",
                    format!("visits must be between {MIN_VISITS} and {MAX_VISITS}"),
                );
                None
            }
        };
        let interval_weeks = self.interval_weeks.unwrap_or(1);
        if !(1..=MAX_INTERVAL_WEEKS).contains(&interval_weeks) {
            errors.add(
                "interval_weeks",
                format!("interval_weeks must be between 1 and {MAX_INTERVAL_WEEKS}"),
            );
        }
        let patient = parse_patient(self.patient.as_ref(), (today, accepted), &mut errors);
        let reason = parse_reason_field(self.reason.as_deref(), &mut errors);
        let source = if by_staff {
            Some(BookingSource::named(BookingSource::FRONT_DESK))
        } else {
            parse_source_field(self.source.as_deref(), BookingSource::WEBSITE, &mut errors)
        };
        match (slot_id, visit_type_id, visits, patient, source) {
            (
                Some(first_slot_id),
                Some(visit_type_id),
                Some(visits),
                Some(patient),
                Some(source),
            ) if errors.is_empty() => Ok((
                SeriesRequest {
                    first_slot_id,
                    visit_type_id,
                    visits,
                    interval_weeks,
                },
                Intake {
                    patient,
                    reason,
                    source,
                    concern: None,
                    visit_type_id: Some(visit_type_id),
                    series_id: None,
                    hold: None,
                },
            )),
            _ => Err(errors.into()),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct SeriesView {
    /// The series' public name, e.g. `CS-4HX9T2MB7Q`.
    #[schema(max_length = 13, pattern = "^CS-[0-9A-Z]{10}$")]
    reference: String,
    #[schema(minimum = 2, maximum = 12)]
    visit_count: i32,
    #[schema(minimum = 1, maximum = 4)]
    interval_weeks: i32,
    /// Its visits in order; in the answer that booked them, each with its manage token.
    #[schema(max_items = 12)]
    visits: Vec<BookingView>,
}

fn series_view(
    details: &SeriesDetails,
    state: &AppState,
    with_tokens: bool,
) -> Result<SeriesView, ApiError> {
    let visits = details
        .visits
        .iter()
        .map(|visit| {
            if with_tokens {
                new_booking_view(visit, state)
            } else {
                Ok(BookingView::new(visit))
            }
        })
        .collect::<Result<_, _>>()?;
    Ok(SeriesView {
        reference: details.series.reference.clone(),
        visit_count: details.series.visit_count,
        interval_weeks: details.series.interval_weeks,
        visits,
    })
}

#[utoipa::path(
    post,
    path = "/api/v1/series",
    operation_id = "createSeries",
    summary = "Book a course of care",
    description = "Books `visits` visits of one visit type with the first slot's provider, on the \
same weekday and local time every `interval_weeks`, all in one transaction: either every visit is \
booked, or none is and the 409 lists in `conflicts` each date that does not fit with the nearest \
alternatives. One confirmation lists every visit. Staff may book any visit type's course; \
patients only those whose visit type allows it online.",
    tag = "bookings",
    security((), ("staff_jwt" = [])),
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Retry safely: the same key and body replay the first answer", max_length = 255, pattern = "^[!-~]+$"),
    ),
    request_body = CreateSeriesBody,
    responses(
        (status = 201, description = "Every visit booked", body = SeriesView),
        (status = 400),
        (status = 401),
        (status = 404, description = "No such slot or visit type"),
        (status = 409, description = "Some dates do not fit (see `conflicts`; nothing was booked), or the visit type's courses are booked by the clinic"),
        (status = 413),
        (status = 422),
        (status = 429),
    ),
)]
pub(super) async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: MaybeStaff,
    body: web::Json<CreateSeriesBody>,
) -> Result<HttpResponse, ApiError> {
    reject_bots(body.company_website.as_deref())?;
    let (request, intake) = body.parse(staff.0.is_some(), accepted_language(&req))?;
    let overriding = override_only(body.overriding.as_ref())?;
    let actor = staff.0.map_or(Actor::Public, Actor::Staff);
    let scope = if actor.is_staff() {
        "series:front_desk"
    } else {
        "series"
    };
    let policy = state.policy.clone();
    let tz = state.settings.clinic.timezone;
    let app = state.clone();
    let answer = idempotency::run_once(
        &req,
        &state,
        scope,
        &body.0,
        StatusCode::CREATED,
        NO_SCREEN,
        move |conn, now| {
            let details = series::book(
                conn,
                request,
                &intake,
                &actor,
                (&policy, overriding.as_ref()),
                tz,
                now,
            )?;
            let view = series_view(&details, &app, true)?;
            Ok(serde_json::to_string(&view).map_err(anyhow::Error::from)?)
        },
    )
    .await;
    booking_answered(&state, answer)
}

fn reference_from_path(path: &str) -> Result<SeriesReference, ApiError> {
    SeriesReference::parse(path).ok_or_else(|| ApiError::not_found("series"))
}

#[utoipa::path(
    get,
    path = "/api/v1/series/{reference}",
    operation_id = "getSeries",
    summary = "Read a course of care",
    description = "The series and each of its visits, with patient details. Any staff member.",
    tag = "staff",
    security(("staff_jwt" = [])),
    params(
        ("reference" = String, Path, description = "The series reference", example = "CS-4HX9T2MB7Q", max_length = 13, pattern = "^CS-[0-9A-Z]{10}$"),
    ),
    responses(
        (status = 200, description = "The series", body = SeriesView),
        (status = 401),
        (status = 403),
        (status = 404, description = "No such series"),
    ),
)]
pub(super) async fn show(
    state: web::Data<AppState>,
    _staff: AnyStaff,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let reference = reference_from_path(&path)?;
    let details = state
        .with_connection(move |conn| series::load(conn, &reference))
        .await?;
    let view = series_view(&details, &state, false)?;
    Ok(private_json(
        serde_json::to_string(&view).map_err(anyhow::Error::from)?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/series/{reference}/cancel",
    operation_id = "cancelSeries",
    summary = "Cancel a course of care",
    description = "Cancels every visit of the series that is still booked and has not started, each with its cancellation mail; visits already held stay as they are. Any staff member.",
    tag = "staff",
    security(("staff_jwt" = [])),
    params(
        ("reference" = String, Path, description = "The series reference", example = "CS-4HX9T2MB7Q", max_length = 13, pattern = "^CS-[0-9A-Z]{10}$"),
    ),
    request_body(content = Option<CancelBody>, description = "Optional: an override of the cut-off for visits inside it", example = json!({"override": {"reason": "The patient moved away"}})),
    responses(
        (status = 200, description = "The series after cancelling", body = SeriesView),
        (status = 400),
        (status = 409, description = "A visit starts within the cut-off (`rule: cancel_cutoff`): send an override"),
        (status = 413),
        (status = 422),
        (status = 401),
        (status = 403),
        (status = 404, description = "No such series"),
    ),
)]
pub(super) async fn cancel(
    state: web::Data<AppState>,
    staff: AnyStaff,
    path: web::Path<String>,
    body: OptionalJson<CancelBody>,
) -> Result<HttpResponse, ApiError> {
    let reference = reference_from_path(&path)?;
    let overriding = override_only(body.0.as_ref().and_then(|b| b.overriding.as_ref()))?;
    let actor = staff.actor();
    let policy = state.policy.clone();
    let details = state
        .with_connection(move |conn| {
            db::write_transaction(conn, |conn| {
                series::cancel(
                    conn,
                    &reference,
                    &actor,
                    (&policy, overriding.as_ref()),
                    db::now(),
                )
            })
        })
        .await?;
    state.wake_mail_worker();
    let view = series_view(&details, &state, false)?;
    Ok(private_json(
        serde_json::to_string(&view).map_err(anyhow::Error::from)?,
    ))
}
