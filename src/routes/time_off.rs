//! A provider's time off: enter it (blocking their free slots at once, and refusing or
//! cancelling the visits it covers), list it, and remove it (freeing what it blocked).

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::views::{private_json, rfc3339};
use crate::clinic::time_off::{self, MAX_LISTED};
use crate::db::{self, time_off::TimeOff};
use crate::domain::ids::{ProviderId, TimeOffId};
use crate::domain::time_off::{TimeOffInput, TimeOffRange};
use crate::domain::FieldErrors;
use crate::error::ApiError;
use crate::routes::access::{AnyStaff, FrontDeskUser};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "start": "2027-07-05T00:00:00-07:00", "end": "2027-07-10T00:00:00-07:00",
    "reason": "Annual leave", "cancel_bookings": false
}))]
pub(super) struct TimeOffBody {
    /// The first instant off (RFC 3339, with offset).
    #[schema(required = true, nullable = false, format = DateTime, max_length = 35)]
    start: Option<String>,
    /// The first instant back: after `start`, at most 366 days later.
    #[schema(required = true, nullable = false, format = DateTime, max_length = 35)]
    end: Option<String>,
    /// Why, in one line: staff see it, and patients whose visits it cancels read it in their
    /// cancellation mail.
    #[schema(required = true, nullable = false, min_length = 1, max_length = 200)]
    reason: Option<String>,
    /// Cancel the visits booked in the range (each patient gets the cancellation mail with the
    /// reason). Default false: such visits make the request a 409 that lists them.
    cancel_bookings: Option<bool>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct TimeOffView {
    #[schema(value_type = i64, minimum = 1, maximum = 2147483647)]
    id: i32,
    #[schema(value_type = i64, minimum = 1, maximum = 2147483647)]
    provider_id: i32,
    #[schema(format = DateTime)]
    start: String,
    #[schema(format = DateTime)]
    end: String,
    #[schema(max_length = 200)]
    reason: String,
    /// The staff account that entered it.
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 2147483647)]
    created_by: Option<i32>,
    #[schema(format = DateTime)]
    created_at: String,
}

impl From<&TimeOff> for TimeOffView {
    fn from(t: &TimeOff) -> Self {
        Self {
            id: t.id.get(),
            provider_id: t.provider_id.get(),
            start: rfc3339(t.starts_at.and_utc()),
            end: rfc3339(t.ends_at.and_utc()),
            reason: t.reason.clone(),
            created_by: t.created_by.map(|u| u.get()),
            created_at: rfc3339(t.created_at.and_utc()),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct TimeOffEntered {
    #[serde(flatten)]
    time_off: TimeOffView,
    /// How many free slots it blocked.
    #[schema(value_type = i64, minimum = 0)]
    blocked_slots: usize,
    /// The references of the visits it cancelled (with `cancel_bookings`).
    #[schema(schema_with = references_schema)]
    cancelled_bookings: Vec<String>,
}

/// Booking references, as many as a year of one provider's visits.
fn references_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    let reference = ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(13))
        .pattern(Some("^BK-[0-9A-Z]{10}$"));
    ArrayBuilder::new()
        .items(reference)
        .max_items(Some(10_000))
        .build()
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct TimeOffList {
    #[schema(max_items = 500)]
    items: Vec<TimeOffView>,
}

fn provider_from_path(id: i64) -> Result<ProviderId, ApiError> {
    ProviderId::try_from(id).map_err(|_| ApiError::not_found("provider"))
}

/// `POST /api/v1/providers/{id}/time-off` (admin, front desk).
#[utoipa::path(
    post,
    path = "/api/v1/providers/{id}/time-off",
    operation_id = "createTimeOff",
    summary = "Enter a provider's time off",
    description = "Blocks the provider's free slots in `[start, end)` at once. Visits still \
booked there make it a 409 listing them (references and starts), with nothing changed, unless \
`cancel_bookings` is true: then each is cancelled and its patient mailed the reason.",
    tag = "staff",
    security(("staff_jwt" = [])),
    params(("id" = i64, Path, description = "The provider id", minimum = 1, maximum = 2147483647)),
    request_body = TimeOffBody,
    responses(
        (status = 201, description = "Entered; what it blocked and cancelled", body = TimeOffEntered),
        (status = 400),
        (status = 401),
        (status = 403),
        (status = 404, description = "No such provider"),
        (status = 409, description = "Visits are booked in the range; see `bookings`"),
        (status = 413),
        (status = 422),
    ),
)]
pub(super) async fn create(
    state: web::Data<AppState>,
    staff: FrontDeskUser,
    path: web::Path<i64>,
    body: web::Json<TimeOffBody>,
) -> Result<HttpResponse, ApiError> {
    let provider_id = provider_from_path(path.into_inner())?;
    let mut errors = FieldErrors::default();
    let range = TimeOffRange::parse(
        TimeOffInput {
            start: body.start.as_deref(),
            end: body.end.as_deref(),
            reason: body.reason.as_deref(),
        },
        &mut errors,
    )
    .ok_or_else(|| ApiError::from(errors))?;
    let cancel_bookings = body.cancel_bookings.unwrap_or(false);
    let actor = staff.actor();
    let policy = state.policy.clone();
    let entered = state
        .with_connection(move |conn| {
            db::write_transaction(conn, |conn| {
                time_off::enter(
                    conn,
                    provider_id,
                    &range,
                    cancel_bookings,
                    &actor,
                    &policy,
                    db::now(),
                )
            })
        })
        .await?;
    if !entered.cancelled.is_empty() {
        for _ in &entered.cancelled {
            state.metrics.booking_cancelled();
        }
        state.wake_mail_worker();
    }
    Ok(HttpResponse::Created().json(TimeOffEntered {
        time_off: (&entered.time_off).into(),
        blocked_slots: entered.blocked,
        cancelled_bookings: entered.cancelled,
    }))
}

/// `GET /api/v1/providers/{id}/time-off` (any staff).
#[utoipa::path(
    get,
    path = "/api/v1/providers/{id}/time-off",
    operation_id = "listTimeOff",
    summary = "List a provider's time off",
    description = "The provider's time off, latest start first (at most 500), with reasons. Any staff.",
    tag = "staff",
    security(("staff_jwt" = [])),
    params(("id" = i64, Path, description = "The provider id", minimum = 1, maximum = 2147483647)),
    responses(
        (status = 200, description = "The provider's time off", body = TimeOffList),
        (status = 401),
        (status = 403),
        (status = 404, description = "No such provider"),
    ),
)]
pub(super) async fn list(
    state: web::Data<AppState>,
    _staff: AnyStaff,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let provider_id = provider_from_path(path.into_inner())?;
    let entries = state
        .with_connection(move |conn| time_off::list(conn, provider_id))
        .await?;
    debug_assert!(entries.len() as i64 <= MAX_LISTED);
    let body = serde_json::to_string(&TimeOffList {
        items: entries.iter().map(Into::into).collect(),
    })
    .map_err(anyhow::Error::from)?;
    // Reasons are about a person: no cache keeps them.
    Ok(private_json(body))
}

/// `DELETE /api/v1/providers/{id}/time-off/{time_off_id}` (admin, front desk).
#[utoipa::path(
    delete,
    path = "/api/v1/providers/{id}/time-off/{time_off_id}",
    operation_id = "deleteTimeOff",
    summary = "Remove a provider's time off",
    description = "Frees the slots it blocked that are still blocked, unless another time off \
covers them too; slots staff blocked by hand stay blocked. Visits it cancelled stay cancelled.",
    tag = "staff",
    security(("staff_jwt" = [])),
    params(
        ("id" = i64, Path, description = "The provider id", minimum = 1, maximum = 2147483647),
        ("time_off_id" = i64, Path, description = "The time off id", minimum = 1, maximum = 2147483647),
    ),
    responses(
        (status = 204, description = "Removed; its slots are free again"),
        (status = 401),
        (status = 403),
        (status = 404, description = "No such provider or time off"),
    ),
)]
pub(super) async fn delete(
    state: web::Data<AppState>,
    staff: FrontDeskUser,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (provider, id) = path.into_inner();
    let provider_id = provider_from_path(provider)?;
    let id = TimeOffId::try_from(id).map_err(|_| ApiError::not_found("time off"))?;
    let actor = staff.actor();
    let policy = state.policy.clone();
    state
        .with_connection(move |conn| {
            db::write_transaction(conn, |conn| {
                time_off::remove(conn, provider_id, id, &actor, &policy, db::now())
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
