//! `GET /api/v1/slots`: free slots in a window, ordered by start; and the staff's single slots,
//! blocking and unblocking.

use actix_web::web::{self, Bytes};
use actix_web::HttpResponse;
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

use super::views::{
    json_body, open_slot_example, requested_id, rfc3339, InstantOrDate, OpenSlotJson, OpenSlotView,
    SlotView,
};
use crate::availability::AnswerKey;
use crate::clinic::locations::{self, Directory};
use crate::clinic::{front_desk, openings, rules};
use crate::db::slots::OpenBetween;
use crate::domain::calendar;
use crate::domain::ids::{LocationId, ProviderId, SlotId, VisitTypeId};
use crate::domain::slot::{parse_instant, SlotStatus, TimeWindow};
use crate::domain::FieldErrors;
use crate::error::ApiError;
use crate::routes::access::{FrontDeskUser, MaybeStaff};
use crate::state::AppState;

const DEFAULT_WINDOW_DAYS: i64 = 14;
const DEFAULT_LIMIT: i64 = 500;
pub(super) const MAX_LIMIT: i64 = 2000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct SlotQuery {
    /// Only this provider's slots (default: every active provider's).
    #[param(minimum = 1, maximum = 2147483647)]
    provider_id: Option<i64>,
    /// Only starts where this visit type (`GET /api/v1/visit-types`) fits, with providers who
    /// offer it: its duration and buffer run on through free time. Each item then ends where the
    /// visit would; book it with the same `visit_type_id`.
    #[param(minimum = 1, maximum = 2147483647)]
    visit_type_id: Option<i64>,
    /// Only slots at this location (`GET /api/v1/locations`). A visit type's whole visit is
    /// always at one location.
    #[param(minimum = 1, maximum = 2147483647)]
    location_id: Option<i64>,
    /// The window's start: an RFC 3339 instant, or a date meaning the clinic's local midnight
    /// (default: now). For the next page, the previous answer's `next_from`.
    #[param(example = "2027-03-01", value_type = Option<InstantOrDate>, inline)]
    from: Option<String>,
    /// The window's end, exclusive, as `from` (default: 14 days after `from`; at most 62).
    #[param(value_type = Option<InstantOrDate>, inline)]
    to: Option<String>,
    /// The most slots to answer (default 500).
    #[param(minimum = 1, maximum = 2000)]
    limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct SlotList<'a> {
    #[schema(max_items = 2000, value_type = Vec<OpenSlotView>)]
    items: Vec<OpenSlotJson<'a>>,
    #[schema(format = DateTime)]
    from: String,
    #[schema(format = DateTime)]
    to: String,
    /// When `limit` cut the list short, the `from` of the next page (the first slot not listed);
    /// `null` when the window's list is complete.
    #[schema(format = DateTime)]
    next_from: Option<String>,
}

/// The document's example: the first two of a morning's free slots, `limit=2`.
fn slot_list_example() -> serde_json::Value {
    serde_json::json!({
        "items": [open_slot_example(42, 9), open_slot_example(43, 10)],
        "from": "2027-03-01T07:00:00Z",
        "to": "2027-03-15T07:00:00Z",
        "next_from": "2027-03-01T18:00:00Z"
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/slots",
    operation_id = "listFreeSlots",
    summary = "List free slots",
    description = "Free slots in `[from, to)`, ordered by start (default: the next 14 days; at most 62). When `limit` cuts the list, `next_from` says where to continue. \
Patients see only the times the booking rules let them book now (from the minimum notice on, within the horizon: `GET /api/v1/booking-policy`); \
with a staff token, every free slot in the window that has not started.",
    tag = "slots",
    security((), ("staff_jwt" = [])),
    params(SlotQuery),
    responses(
        (status = 200, description = "Free slots in the window, ordered by start", body = SlotList, example = slot_list_example),
        (status = 400),
        (status = 401),
        (status = 404, description = "No such provider, visit type or location"),
    ),
)]
pub(super) async fn list_free(
    state: web::Data<AppState>,
    staff: MaybeStaff,
    query: web::Query<SlotQuery>,
) -> Result<HttpResponse, ApiError> {
    let tz = state.settings.clinic.timezone;
    let query = query.into_inner();
    let now = Utc::now();
    let from = match &query.from {
        Some(from) => {
            parse_instant(from, tz).map_err(|m| ApiError::BadRequest(format!("`from` {m}")))?
        }
        None => now,
    };
    let to = match &query.to {
        Some(to) => parse_instant(to, tz).map_err(|m| ApiError::BadRequest(format!("`to` {m}")))?,
        None => from
            .checked_add_signed(Duration::days(DEFAULT_WINDOW_DAYS))
            .ok_or_else(|| ApiError::BadRequest("`from` is out of range".into()))?,
    };
    let window = TimeWindow::search(from, to).map_err(ApiError::BadRequest)?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "`limit` must be between 1 and {MAX_LIMIT}"
        )));
    }
    let provider_id: Option<ProviderId> = requested_id(query.provider_id, "provider")?;
    let visit_type_id: Option<VisitTypeId> = requested_id(query.visit_type_id, "visit type")?;
    let location_id: Option<LocationId> = requested_id(query.location_id, "location")?;
    // Slots that have started are not bookable, whatever window was asked for; nor, for
    // patients, those the booking rules refuse (staff may override the rules, so they see them).
    let by_staff = staff.0.is_some();
    let (earliest, _) = match by_staff {
        true => (now.naive_utc(), NaiveDateTime::MAX),
        false => rules::bookable_window(&state.policy, None, now.naive_utc()),
    };
    let (asked_from, asked_to) = (window.start().naive_utc(), window.end().naive_utc());
    let policy = state.policy.clone();
    // A list with no `from` starts now and says so: it is never the same twice. Staff lists are
    // not kept: they are few, and not the patients' list.
    let key = (query.from.is_some() && staff.0.is_none()).then_some(AnswerKey::Window {
        provider_id,
        visit_type_id,
        location_id,
        from: window.start().naive_utc(),
        to: window.end().naive_utc(),
        limit,
    });
    let cache = &state.availability;
    if let Some(body) = key.as_ref().and_then(|key| cache.get(key, earliest)) {
        return Ok(json_body(body));
    }
    let generation = cache.generation();
    let directory = state.availability.clone();
    let (mut found, places) = state
        .with_connection(move |conn| {
            let place = match location_id {
                Some(id) => Some(locations::place(conn, id)?),
                None => None,
            };
            // A visit type may have rules of its own.
            let visit_type = match visit_type_id {
                Some(id) => Some(openings::active_visit_type(conn, id)?),
                None => None,
            };
            let (earliest, horizon) = match by_staff {
                true => (now.naive_utc(), NaiveDateTime::MAX),
                false => rules::bookable_window(&policy, visit_type.as_ref(), now.naive_utc()),
            };
            let between = OpenBetween {
                from: asked_from.max(earliest),
                until: asked_to.min(horizon),
                now: now.naive_utc(),
            };
            let limit = usize::try_from(limit + 1).unwrap_or(usize::MAX);
            let open = openings::open_times(
                conn,
                visit_type.as_ref(),
                provider_id,
                place,
                between,
                limit,
            )?;
            // An unknown or inactive provider has no open slots (the query joins on active
            // providers): only an empty list needs the question asked, and a 404 answered.
            if let (Some(id), true) = (provider_id, open.is_empty()) {
                crate::db::providers::find(conn, id)?
                    .filter(|p| p.active)
                    .ok_or_else(|| ApiError::not_found("provider"))?;
            }
            Ok::<_, ApiError>((open, directory.directory(|| Directory::load(conn))?))
        })
        .await?;
    let next_from = if found.len() as i64 > limit {
        found
            .pop()
            .map(|(slot, _)| rfc3339(slot.starts_at.and_utc()))
    } else {
        None
    };
    let body = Bytes::from(
        serde_json::to_vec(&SlotList {
            items: found
                .iter()
                .map(|s| OpenSlotJson::new(s, &places))
                .collect(),
            from: rfc3339(window.start()),
            to: rfc3339(window.end()),
            next_from,
        })
        .map_err(|e| ApiError::Internal(e.into()))?,
    );
    if let Some(key) = key {
        let first_start = found.first().map(|(slot, _)| slot.starts_at);
        cache.insert(key, generation, first_start, body.clone());
    }
    Ok(json_body(body))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"start": "2027-03-01T16:00:00Z", "end": "2027-03-01T16:30:00Z"}))]
pub(super) struct NewSlotBody {
    /// An RFC 3339 instant with offset.
    #[schema(required = true, nullable = false, format = DateTime, max_length = 35)]
    start: Option<String>,
    /// After `start`, at most 12 hours later.
    #[schema(required = true, nullable = false, format = DateTime, max_length = 35)]
    end: Option<String>,
    /// Where (`GET /api/v1/locations`; default: the main location). A provider is in one
    /// place at a time: a slot overlapping theirs at any location is a 409.
    #[schema(minimum = 1, maximum = 2147483647, format = Int64)]
    location_id: Option<i64>,
}

/// `POST /api/v1/providers/{id}/slots` (admin, front desk): one free slot; 409 on overlap.
#[utoipa::path(
    post,
    path = "/api/v1/providers/{id}/slots",
    operation_id = "createSlot",
    summary = "Add one slot",
    description = "One free slot of a provider; 409 if it overlaps one of theirs.",
    tag = "staff",
    security(("staff_jwt" = [])),
    params(("id" = i64, Path, description = "The provider id", minimum = 1, maximum = 2147483647)),
    request_body = NewSlotBody,
    responses(
        (status = 201, description = "The new free slot", body = SlotView),
        (status = 400),
        (status = 401),
        (status = 403),
        (status = 404, description = "No such provider"),
        (status = 409, description = "Overlaps another slot of the provider"),
        (status = 413),
        (status = 422),
    ),
)]
pub(super) async fn create(
    state: web::Data<AppState>,
    staff: FrontDeskUser,
    path: web::Path<i64>,
    body: web::Json<NewSlotBody>,
) -> Result<HttpResponse, ApiError> {
    let provider_id =
        ProviderId::try_from(path.into_inner()).map_err(|_| ApiError::not_found("provider"))?;
    let mut errors = FieldErrors::default();
    let instant = |value: &Option<String>, field: &str, errors: &mut FieldErrors| match value {
        None => {
            errors.add(field, format!("{field} is required"));
            None
        }
        Some(v) => errors.check(
            field,
            DateTime::parse_from_rfc3339(v.trim())
                .map_err(|_| format!("{field} must be an RFC 3339 instant with offset"))
                .and_then(|t| {
                    calendar::check_instant(t.with_timezone(&Utc))
                        .map_err(|m| format!("{field} {m}"))
                }),
        ),
    };
    let start = instant(&body.start, "start", &mut errors);
    let end = instant(&body.end, "end", &mut errors);
    let location_id = parse_location_field(body.location_id, &mut errors);
    let (Some(start), Some(end), true) = (start, end, errors.is_empty()) else {
        return Err(errors.into());
    };
    let actor = staff.actor();
    let policy = state.policy.clone();
    let (slot, location) = state
        .with_connection(move |conn| {
            let slot = front_desk::add_slot(
                conn,
                provider_id,
                location_id,
                (start, end),
                &actor,
                &policy,
            )?;
            let location = locations::of_slot(conn, slot.location_id)?;
            Ok::<_, ApiError>((slot, location))
        })
        .await?;
    Ok(HttpResponse::Created().json(SlotView::new(&slot, &location)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "blocked"}))]
pub(super) struct SlotStatusBody {
    /// `blocked` or `free`; slots become `busy` by being booked.
    #[schema(schema_with = blockable_schema)]
    status: String,
}

fn blockable_schema() -> utoipa::openapi::schema::Object {
    super::views::names_schema([SlotStatus::Blocked.as_str(), SlotStatus::Free.as_str()]).build()
}

/// `PATCH /api/v1/slots/{id}` (admin, front desk): `{"status": "blocked" | "free"}`.
#[utoipa::path(
    patch,
    path = "/api/v1/slots/{id}",
    operation_id = "updateSlotStatus",
    summary = "Block or free a slot",
    description = "A booked slot is a 409: cancel or move its booking first.",
    tag = "staff",
    security(("staff_jwt" = [])),
    params(("id" = i64, Path, description = "The slot id", minimum = 1, maximum = 2147483647)),
    request_body = SlotStatusBody,
    responses(
        (status = 200, description = "The slot", body = SlotView),
        (status = 400),
        (status = 401),
        (status = 403),
        (status = 404, description = "No such slot"),
        (status = 409, description = "The slot is booked"),
        (status = 413),
        (status = 422),
    ),
)]
pub(super) async fn update_status(
    state: web::Data<AppState>,
    staff: FrontDeskUser,
    path: web::Path<i64>,
    body: web::Json<SlotStatusBody>,
) -> Result<HttpResponse, ApiError> {
    let slot_id = SlotId::try_from(path.into_inner()).map_err(|_| ApiError::not_found("slot"))?;
    let target = SlotStatus::parse(body.status.trim())
        .ok_or_else(|| ApiError::invalid("status", "status must be blocked or free"))?;
    let actor = staff.actor();
    let policy = state.policy.clone();
    let (slot, location) = state
        .with_connection(move |conn| {
            let slot = front_desk::set_slot_status(
                conn,
                slot_id,
                target,
                (&actor, &policy),
                crate::db::now(),
            )?;
            let location = locations::of_slot(conn, slot.location_id)?;
            Ok::<_, ApiError>((slot, location))
        })
        .await?;
    Ok(HttpResponse::Ok().json(SlotView::new(&slot, &location)))
}

/// A body's `location_id`: a positive id, or a 422 naming the field (an id that names no
/// location is refused by the operation, also as a 422).
pub(super) fn parse_location_field(
    value: Option<i64>,
    errors: &mut FieldErrors,
) -> Option<LocationId> {
    let id = value?;
    errors.check(
        "location_id",
        LocationId::try_from(id)
            .ok()
            .filter(|l| l.get() > 0)
            .ok_or_else(|| format!("there is no active location {id}")),
    )
}
