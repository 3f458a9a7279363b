//! Holds: `POST /api/v1/holds` keeps a time for the patient filling in the form, `GET` reads it
//! back with the time it has left, `DELETE` lets it go. The token the answer carries is the
//! hold's only name; booking with it (`hold_token`) claims the held time.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDateTime};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use super::access::bearer_token;
use super::patient_form::parse_visit_type_field;
use super::views::{
    hold_token_schema, names_schema, private_json, rfc3339, LocationSummary, ProviderSummary,
    SlotView, VisitTypeSummary,
};
use crate::abuse;
use crate::clinic::holds::{self, HoldDetails, HoldRequest};
use crate::clinic::{locations, offers};
use crate::db::{self, slots};
use crate::domain::hold::{HoldStatus, HoldToken};
use crate::domain::ids::{LocationId, ProviderId, SlotId, VisitTypeId};
use crate::domain::FieldErrors;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"slot_id": 42, "visit_type_id": 2}))]
pub(super) struct CreateHoldBody {
    /// The time to keep: a free slot's `id` (with `visit_type_id`, a start where it fits), as
    /// `GET /api/v1/slots` lists them. Or leave it out and name `provider_id` and `start`.
    #[schema(minimum = 1, maximum = 2147483647, format = Int64)]
    slot_id: Option<i64>,
    /// With `start`, instead of `slot_id`: the provider whose time it is.
    #[schema(minimum = 1, maximum = 2147483647, format = Int64)]
    provider_id: Option<i64>,
    /// With `provider_id`: the start, an RFC 3339 instant with offset.
    #[schema(format = DateTime, max_length = 35)]
    start: Option<String>,
    /// With `provider_id` and `start`: the location (the start must be there).
    #[schema(minimum = 1, maximum = 2147483647, format = Int64)]
    location_id: Option<i64>,
    /// The kind of visit: the hold keeps every slot it needs. Book with the same one.
    #[schema(minimum = 1, maximum = 2147483647, format = Int64)]
    visit_type_id: Option<i64>,
    /// The token of the hold this one replaces (the patient chose another time): it is let go
    /// in the same step, so the new time may overlap it. Unknown or ended holds are ignored.
    #[schema(schema_with = hold_token_schema)]
    replaces: Option<String>,
}

/// A time kept for a patient, and how long it stays kept.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct HoldView {
    /// Only in the answer that took the hold: its name, to book with (`hold_token`), and to read
    /// or let go the hold (`Authorization: Bearer <token>`). Keep it secret: with it anyone can
    /// book the held time.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = hold_token_schema)]
    token: Option<String>,
    /// `active` while it keeps the time; then `expired`, `released` or `booked`.
    #[schema(schema_with = hold_status_schema)]
    status: String,
    /// When the time stops being kept (RFC 3339, UTC).
    #[schema(format = DateTime, max_length = 20)]
    expires_at: String,
    /// Whole seconds left until then (0 once it has ended): a page's countdown starts here,
    /// whatever its own clock says.
    #[schema(minimum = 0, maximum = 3600)]
    seconds_left: i64,
    /// The visit kept: its first slot's id (book that one), where it starts and ends.
    slot: SlotView,
    provider: ProviderSummary,
    location: LocationSummary,
    visit_type: Option<VisitTypeSummary>,
}

fn hold_status_schema() -> utoipa::openapi::Object {
    names_schema(HoldStatus::ALL.iter().map(|s| s.as_str())).build()
}

fn hold_view(details: &HoldDetails, token: Option<&HoldToken>, now: NaiveDateTime) -> HoldView {
    let hold = &details.hold;
    let visit = slots::Slot {
        ends_at: hold.ends_at,
        ..details.first.clone()
    };
    let status = hold.status(now);
    let seconds_left = match status {
        HoldStatus::Active => (hold.expires_at - now).num_seconds().max(0),
        _ => 0,
    };
    HoldView {
        token: token.map(|t| t.as_str().to_owned()),
        status: status.as_str().to_owned(),
        expires_at: rfc3339(hold.expires_at.and_utc()),
        seconds_left,
        slot: SlotView::new(&visit, &details.location),
        provider: (&details.provider).into(),
        location: (&details.location).into(),
        visit_type: details.visit_type.as_ref().map(VisitTypeSummary::from),
    }
}

/// What the body names: a slot, or a provider's start (and location), to find the slot by.
enum Named {
    Slot(SlotId),
    Start(ProviderId, NaiveDateTime, Option<LocationId>),
}

impl CreateHoldBody {
    fn parse(&self) -> Result<(Named, Option<VisitTypeId>, Option<HoldToken>), ApiError> {
        let mut errors = FieldErrors::default();
        let visit_type_id = parse_visit_type_field(self.visit_type_id, &mut errors);
        let replaces = self.replaces.as_deref().and_then(|token| {
            let parsed = HoldToken::parse(token);
            if parsed.is_none() {
                errors.add("replaces", "is not a hold token");
            }
            parsed
        });
        let named = match (self.slot_id, self.provider_id, self.start.as_deref()) {
            (Some(id), None, None) if self.location_id.is_none() => Some(Named::Slot(
                SlotId::try_from(id).map_err(|_| ApiError::not_found("slot"))?,
            )),
            (None, Some(provider), Some(start)) => {
                let provider =
                    ProviderId::try_from(provider).map_err(|_| ApiError::not_found("provider"))?;
                let location = self
                    .location_id
                    .map(|id| LocationId::try_from(id).map_err(|_| ApiError::not_found("location")))
                    .transpose()?;
                match DateTime::parse_from_rfc3339(start) {
                    Ok(start) => Some(Named::Start(provider, start.naive_utc(), location)),
                    Err(_) => {
                        errors.add("start", "must be an RFC 3339 instant with offset");
                        None
                    }
                }
            }
            _ => {
                errors.add(
                    "slot_id",
                    "name the time by `slot_id`, or by `provider_id` and `start` (and `location_id`)",
                );
                None
            }
        };
        match named {
            Some(named) if errors.is_empty() => Ok((named, visit_type_id, replaces)),
            _ => Err(errors.into()),
        }
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/holds",
    operation_id = "createHold",
    summary = "Keep a time while the patient fills in the form",
    description = "Keeps the time (and, with `visit_type_id`, every slot the visit needs) for \
`booking.hold_minutes` (default 5): nobody else is offered it or can book it meanwhile. Book it \
with the answer's `token` as `hold_token`; the booking rules apply then as to any booking. A hold \
ends by itself when it expires; `DELETE` lets it go sooner, and `replaces` lets the previous \
one go as this one is taken. One live hold per time: a second is a 409; one client (address) \
keeps at most 4 at once.",
    tag = "bookings",
    security(()),
    request_body = CreateHoldBody,
    responses(
        (status = 201, description = "The time is kept; the token books it", body = HoldView),
        (status = 400),
        (status = 404, description = "No such slot, provider, location or visit type"),
        (status = 409, description = "The time is taken, blocked, started or held already, a booking rule refuses it (`rule`: min_notice or horizon), or this client holds 4 times already"),
        (status = 413),
        (status = 422, description = "Invalid fields, named in `errors`"),
        (status = 429),
    ),
)]
pub(super) async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<CreateHoldBody>,
) -> Result<HttpResponse, ApiError> {
    let (named, visit_type_id, replaces) = body.parse()?;
    let client_key = abuse::client_key(
        &req,
        &state.settings.http,
        state.settings.auth.jwt_secret.expose_secret(),
    );
    let policy = state.policy.clone();
    let view = state
        .with_connection(move |conn| {
            db::write_transaction(conn, |conn| {
                let now = db::now();
                let slot_id = match named {
                    Named::Slot(id) => id,
                    Named::Start(provider, start, location) => {
                        let place = match location {
                            Some(id) => Some(locations::place(conn, id)?),
                            None => None,
                        };
                        slots::starting_at(conn, provider, start, place)?
                            .ok_or_else(|| ApiError::not_found("slot"))?
                    }
                };
                let request = HoldRequest {
                    slot_id,
                    visit_type_id,
                    replaces,
                    client_key,
                };
                let (token, details) = holds::take(conn, &request, &policy, policy.hold, now)?;
                Ok::<_, ApiError>(hold_view(&details, Some(&token), now))
            })
        })
        .await?;
    let body = serde_json::to_string(&view).map_err(anyhow::Error::from)?;
    Ok(HttpResponse::build(StatusCode::CREATED)
        .content_type("application/json")
        .insert_header(("Cache-Control", "no-store"))
        .body(body))
}

/// The hold a request names by its token, sent as `Authorization: Bearer <token>` (a secret
/// stays out of URLs, which proxies log). 401 without one or with something else.
fn token_from_header(req: &HttpRequest) -> Result<HoldToken, ApiError> {
    bearer_token(req).and_then(HoldToken::parse).ok_or_else(|| {
        ApiError::Unauthorized(
            "send the hold's token (from POST /api/v1/holds) as `Authorization: Bearer <token>`"
                .into(),
        )
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/holds/current",
    operation_id = "getHold",
    summary = "Read a hold",
    description = "The hold the token names: the time it keeps, its status and the seconds it has left.",
    tag = "bookings",
    security(("hold_token" = [])),
    responses(
        (status = 200, description = "The hold", body = HoldView),
        (status = 401, description = "No hold token"),
        (status = 404, description = "No such hold"),
    ),
)]
pub(super) async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let token = token_from_header(&req)?;
    let view = state
        .with_connection(move |conn| {
            let now = db::now();
            let details = holds::load(conn, &token)?;
            Ok::<_, ApiError>(hold_view(&details, None, now))
        })
        .await?;
    Ok(private_json(
        serde_json::to_string(&view).map_err(anyhow::Error::from)?,
    ))
}

#[utoipa::path(
    delete,
    path = "/api/v1/holds/current",
    operation_id = "releaseHold",
    summary = "Let a held time go",
    description = "The time the token's hold keeps is open to others again at once. Letting go \
a hold that has ended (expired, let go or booked) changes nothing.",
    tag = "bookings",
    security(("hold_token" = [])),
    responses(
        (status = 204, description = "Let go"),
        (status = 401, description = "No hold token"),
        (status = 404, description = "No such hold"),
    ),
)]
pub(super) async fn release(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let token = token_from_header(&req)?;
    let policy = state.policy.clone();
    state
        .with_connection(move |conn| {
            db::write_transaction(conn, |conn| {
                offers::release_hold(conn, &token, &policy, db::now())
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
