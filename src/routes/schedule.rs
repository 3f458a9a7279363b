//! `POST /api/v1/providers/{id}/schedule`: a weekly pattern over a date range becomes slots.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{Array, ArrayBuilder, Object};

use super::views::pattern_schema;
use crate::clinic::front_desk;
use crate::domain::ids::ProviderId;
use crate::domain::schedule::{weekday_pattern, ScheduleInput, WeeklySchedule, LOCAL_TIME_PATTERN};
use crate::domain::FieldErrors;
use crate::error::ApiError;
use crate::routes::access::FrontDeskUser;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct BreakBody {
    #[schema(schema_with = break_start_schema)]
    start: String,
    #[schema(schema_with = break_end_schema)]
    end: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "from_date": "2027-03-01", "to_date": "2027-03-05",
    "weekdays": ["mon", "tue", "wed", "thu", "fri"],
    "start_time": "09:00", "end_time": "17:00", "slot_minutes": 30,
    "breaks": [{"start": "12:00", "end": "13:00"}]
}))]
pub(super) struct ScheduleBody {
    #[schema(required = true, nullable = false, format = Date, max_length = 10)]
    from_date: Option<String>,
    #[schema(required = true, nullable = false, format = Date, max_length = 10)]
    to_date: Option<String>,
    #[schema(required = true, schema_with = weekdays_schema)]
    weekdays: Option<Vec<String>>,
    #[schema(required = true, schema_with = start_time_schema)]
    start_time: Option<String>,
    #[schema(required = true, schema_with = end_time_schema)]
    end_time: Option<String>,
    #[schema(required = true, nullable = false, minimum = 5, maximum = 480)]
    slot_minutes: Option<i64>,
    #[serde(default)]
    #[schema(max_items = 24)]
    breaks: Vec<BreakBody>,
    /// Where (`GET /api/v1/locations`; default: the main location). The times are read in its
    /// time zone.
    #[schema(minimum = 1, maximum = 2147483647, format = Int64)]
    location_id: Option<i64>,
}

/// A local time of day as `WeeklySchedule::parse` reads it (`HH:MM`); 8 characters hold
/// `HH:MM:00`.
fn local_time(example: &str) -> Object {
    pattern_schema(LOCAL_TIME_PATTERN)
        .max_length(Some(8))
        .examples([example])
        .build()
}

fn start_time_schema() -> Object {
    local_time("09:00")
}

fn end_time_schema() -> Object {
    local_time("17:00")
}

fn break_start_schema() -> Object {
    local_time("12:00")
}

fn break_end_schema() -> Object {
    local_time("13:00")
}

/// Each day once or more (repeats count once), as `mon` or `monday` in any case; 9 characters
/// hold `wednesday`.
fn weekdays_schema() -> Array {
    let day = pattern_schema(&weekday_pattern())
        .max_length(Some(9))
        .examples(["mon"]);
    ArrayBuilder::new().items(day).max_items(Some(7)).build()
}

#[derive(Serialize, utoipa::ToSchema)]
struct ScheduleResult {
    #[schema(value_type = i64, minimum = 0)]
    created: usize,
    #[schema(value_type = i64, minimum = 0)]
    skipped: usize,
    /// Where the slots are.
    #[schema(value_type = i64, minimum = 1, maximum = 2147483647)]
    location_id: i32,
    /// The zone the pattern was read in: the location's.
    #[schema(max_length = 40, pattern = "^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$")]
    timezone: &'static str,
}

#[utoipa::path(
    post,
    path = "/api/v1/providers/{id}/schedule",
    operation_id = "applySchedule",
    summary = "Build a provider's schedule",
    description = "Turns a weekly pattern into slots at a location (default: the main one), in \
that location's time zone; slots that would overlap the provider's existing ones, at any \
location, are skipped, so running it again creates nothing.",
    tag = "staff",
    security(("staff_jwt" = [])),
    params(("id" = i64, Path, description = "The provider id", minimum = 1, maximum = 2147483647)),
    request_body = ScheduleBody,
    responses(
        (status = 200, description = "Slots created and skipped", body = ScheduleResult),
        (status = 400),
        (status = 401),
        (status = 403),
        (status = 404, description = "No such provider"),
        (status = 409, description = "Conflicting change"),
        (status = 413),
        (status = 422),
    ),
)]
pub(super) async fn apply(
    state: web::Data<AppState>,
    staff: FrontDeskUser,
    path: web::Path<i64>,
    body: web::Json<ScheduleBody>,
) -> Result<HttpResponse, ApiError> {
    let provider_id =
        ProviderId::try_from(path.into_inner()).map_err(|_| ApiError::not_found("provider"))?;
    let mut errors = FieldErrors::default();
    let schedule = WeeklySchedule::parse(
        ScheduleInput {
            from_date: body.from_date.as_deref(),
            to_date: body.to_date.as_deref(),
            weekdays: body
                .weekdays
                .as_ref()
                .map(|days| days.iter().map(String::as_str).collect()),
            start_time: body.start_time.as_deref(),
            end_time: body.end_time.as_deref(),
            slot_minutes: body.slot_minutes,
            breaks: body
                .breaks
                .iter()
                .map(|b| (b.start.as_str(), b.end.as_str()))
                .collect(),
        },
        &mut errors,
    );
    let location_id = super::slots::parse_location_field(body.location_id, &mut errors);
    let (Some(schedule), true) = (schedule, errors.is_empty()) else {
        return Err(errors.into());
    };
    let actor = staff.actor();
    let policy = state.policy.clone();
    let report = state
        .with_connection(move |conn| {
            front_desk::apply_schedule(conn, provider_id, location_id, &schedule, &actor, &policy)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ScheduleResult {
        created: report.created,
        skipped: report.skipped,
        location_id: report.location.id.get(),
        timezone: report.location.timezone.as_str(),
    }))
}
