//! Admins' webhook endpoints (`/api/v1/admin/webhooks`): register, change, rotate the secret,
//! delete, and see and retry deliveries. The secret is answered twice in an endpoint's life at
//! most: when it is made, and when it is rotated.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::Duration;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ArrayBuilder, Object, ObjectBuilder, Type};

use super::bookings::OptionalJson;
use super::views::rfc3339;
use crate::clinic::webhooks::{self as hooks, NewWebhook, WebhookChange};
use crate::db::webhooks::{self as stored, Delivery, DeliveryStatus, Endpoint};
use crate::db::{self};
use crate::domain::ids::{WebhookDeliveryId, WebhookEndpointId};
use crate::domain::webhook::{EventType, EventTypes, TargetUrl};
use crate::domain::{clean_text, FieldErrors};
use crate::error::ApiError;
use crate::routes::access::AdminUser;
use crate::state::AppState;

const MAX_DESCRIPTION: usize = 500;
const DEFAULT_OVERLAP_HOURS: i64 = 24;

fn event_type_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(EventType::ALL.iter().map(|e| e.as_str())))
        .build()
}

fn event_types_schema() -> utoipa::openapi::schema::Array {
    ArrayBuilder::new()
        .items(event_type_schema())
        .min_items(Some(1))
        .max_items(Some(EventType::ALL.len()))
        .description(Some("The events it receives"))
        .build()
}

fn delivery_status_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(DeliveryStatus::ALL.iter().map(|s| s.as_str())))
        .build()
}

/// A receiver of webhooks.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "url": "https://ehr.example.com/hooks/clinic-booking",
    "description": "The EHR's scheduling interface",
    "events": ["booking.created", "booking.rescheduled", "booking.cancelled"],
    "include_patient_data": false
}))]
pub(super) struct CreateWebhookBody {
    /// Where deliveries are posted: an http(s) URL on the public internet (no credentials in it;
    /// the signature authenticates).
    #[schema(min_length = 1, max_length = 2000, format = "uri")]
    url: String,
    /// What it is, for the admins; up to 500 characters.
    #[schema(max_length = 500)]
    description: Option<String>,
    #[schema(schema_with = event_types_schema)]
    events: Vec<String>,
    /// Deliveries carry the patient's name, email and phone (`data.patient`) only when this is
    /// on. Default off.
    include_patient_data: Option<bool>,
    /// Default on.
    active: Option<bool>,
}

/// A change; what is left out stays.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"active": true}))]
pub(super) struct UpdateWebhookBody {
    #[schema(min_length = 1, max_length = 2000, format = "uri")]
    url: Option<String>,
    #[schema(max_length = 500)]
    description: Option<String>,
    #[schema(schema_with = optional_event_types_schema)]
    events: Option<Vec<String>>,
    include_patient_data: Option<bool>,
    /// On again after it was turned off: it starts afresh (its failures forgotten); retry the
    /// failed deliveries you want sent.
    active: Option<bool>,
}

fn optional_event_types_schema() -> utoipa::openapi::schema::Array {
    event_types_schema()
}

/// How long the old secret keeps signing beside the new one.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"overlap_hours": 24}))]
pub(super) struct RotateBody {
    /// 0 to 168 hours (default 24): receivers accept either signature meanwhile.
    #[schema(minimum = 0, maximum = 168)]
    overlap_hours: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct WebhookView {
    #[schema(value_type = i64)]
    id: i32,
    #[schema(format = "uri")]
    url: String,
    description: String,
    #[schema(schema_with = event_types_schema)]
    events: Vec<&'static str>,
    include_patient_data: bool,
    active: bool,
    /// Why it was turned off (`410 Gone`, a day of failures), if it was.
    disabled_reason: Option<String>,
    /// Since when every delivery has failed; `null` after a success.
    #[schema(format = DateTime)]
    failing_since: Option<String>,
    /// Until when the previous secret signs too, after a rotation.
    #[schema(format = DateTime)]
    previous_secret_until: Option<String>,
    /// The signing secret (`whsec_…`): only in the answers to create and rotate-secret. Keep it;
    /// it is never shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^whsec_[A-Za-z0-9+/=]+$")]
    secret: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
}

impl WebhookView {
    fn new(endpoint: &Endpoint, secret: Option<String>) -> Self {
        Self {
            id: endpoint.id.get(),
            url: endpoint.url.clone(),
            description: endpoint.description.clone(),
            events: EventTypes::from_stored(&endpoint.event_types).names(),
            include_patient_data: endpoint.include_patient_data,
            active: endpoint.active,
            disabled_reason: endpoint.disabled_reason.clone(),
            failing_since: endpoint.failing_since.map(|t| rfc3339(t.and_utc())),
            previous_secret_until: endpoint.previous_secret_until.map(|t| rfc3339(t.and_utc())),
            secret,
            created_at: rfc3339(endpoint.created_at.and_utc()),
            updated_at: rfc3339(endpoint.updated_at.and_utc()),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct WebhookList {
    items: Vec<WebhookView>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct DeliveryView {
    #[schema(value_type = i64)]
    id: i32,
    #[schema(value_type = i64)]
    endpoint_id: i32,
    /// The event's `webhook-id`, the same on every attempt and for every endpoint.
    #[schema(pattern = "^msg_[0-9A-Za-z]+$")]
    message_id: String,
    #[schema(schema_with = event_type_schema)]
    event_type: String,
    /// The booking (`BK-…`), waitlist entry (`WL-…`) or course (`CS-…`) it is about.
    #[schema(pattern = "^(BK|WL|CS)-[0-9A-HJKMNP-TV-Z]{10}$")]
    subject: String,
    #[schema(schema_with = delivery_status_schema)]
    status: String,
    attempts: i32,
    #[schema(format = DateTime)]
    next_attempt_at: String,
    /// The receiver's last HTTP status, if it answered.
    last_status_code: Option<i32>,
    last_error: Option<String>,
    #[schema(format = DateTime)]
    delivered_at: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
}

impl DeliveryView {
    fn new(d: Delivery) -> Self {
        Self {
            id: d.id.get(),
            endpoint_id: d.endpoint_id.get(),
            message_id: d.message_id,
            event_type: d.event_type,
            subject: d.subject,
            status: d.status.as_str().to_owned(),
            attempts: d.attempts,
            next_attempt_at: rfc3339(d.next_attempt_at.and_utc()),
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            delivered_at: d.delivered_at.map(|t| rfc3339(t.and_utc())),
            created_at: rfc3339(d.created_at.and_utc()),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct DeliveryPage {
    #[schema(max_items = 200)]
    items: Vec<DeliveryView>,
    limit: i64,
    offset: i64,
}

fn no_store(status: StatusCode, body: &impl Serialize) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(("Cache-Control", "no-store"))
        .json(body)
}

fn endpoint_id(raw: i64) -> Result<WebhookEndpointId, ApiError> {
    WebhookEndpointId::try_from(raw).map_err(|_| ApiError::not_found("webhook"))
}

/// The url, checked for form and then for where it points (a 422 on `url` either way).
async fn target(state: &AppState, raw: &str) -> Result<TargetUrl, ApiError> {
    let url = TargetUrl::parse(raw).map_err(|m| ApiError::invalid("url", m))?;
    crate::webhooks::check_target(&url, state.settings.webhooks.allow_private_targets)
        .await
        .map_err(|m| ApiError::invalid("url", m))?;
    Ok(url)
}

fn description(raw: Option<&str>, errors: &mut FieldErrors) -> Option<String> {
    raw.and_then(|d| errors.check("description", clean_text(d, MAX_DESCRIPTION, "description")))
}

fn events(raw: Option<&[String]>, errors: &mut FieldErrors) -> Option<EventTypes> {
    raw.and_then(|names| errors.check("events", EventTypes::parse(names)))
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/webhooks",
    operation_id = "listWebhooks",
    summary = "List webhook endpoints",
    description = "Every registered endpoint, without its secret.",
    tag = "staff",
    security(("staff_jwt" = [])),
    responses(
        (status = 200, description = "The endpoints", body = WebhookList),
        (status = 401),
        (status = 403),
    ),
)]
pub(super) async fn list(
    state: web::Data<AppState>,
    _admin: AdminUser,
) -> Result<HttpResponse, ApiError> {
    let endpoints = state.with_connection(stored::list_endpoints).await?;
    let items = endpoints
        .iter()
        .map(|e| WebhookView::new(e, None))
        .collect();
    Ok(no_store(StatusCode::OK, &WebhookList { items }))
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/webhooks",
    operation_id = "createWebhook",
    summary = "Register a webhook endpoint",
    description = "Registers a receiver for the events named. Deliveries are signed per Standard Webhooks \
(`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`) with the secret answered here, once. \
The URL must point to the public internet (no loopback, private or link-local address) unless `webhooks.allow_private_targets` is set.",
    tag = "staff",
    security(("staff_jwt" = [])),
    request_body = CreateWebhookBody,
    responses(
        (status = 201, description = "Registered; `secret` is shown this once", body = WebhookView),
        (status = 400),
        (status = 401),
        (status = 403),
        (status = 413),
        (status = 422, description = "Invalid fields, named in `errors` (a URL that points inside counts)"),
    ),
)]
pub(super) async fn create(
    state: web::Data<AppState>,
    admin: AdminUser,
    body: web::Json<CreateWebhookBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let mut errors = FieldErrors::default();
    let description = description(body.description.as_deref(), &mut errors);
    let events = events(Some(&body.events), &mut errors);
    let url = match TargetUrl::parse(&body.url) {
        Ok(_) if !errors.is_empty() => None,
        Ok(_) => Some(target(&state, &body.url).await?),
        Err(m) => {
            errors.add("url", m);
            None
        }
    };
    let (Some(url), Some(events), true) = (url, events, errors.is_empty()) else {
        return Err(errors.into());
    };
    let new = NewWebhook {
        url,
        description: description.unwrap_or_default(),
        events,
        include_patient_data: body.include_patient_data.unwrap_or(false),
        active: body.active.unwrap_or(true),
    };
    let actor = admin.actor();
    let (endpoint, secret) = state
        .with_connection(move |conn| {
            db::write_transaction(conn, |conn| hooks::create(conn, &new, &actor, db::now()))
        })
        .await?;
    Ok(no_store(
        StatusCode::CREATED,
        &WebhookView::new(&endpoint, Some(secret.expose().to_owned())),
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/webhooks/{id}",
    operation_id = "getWebhook",
    summary = "Read a webhook endpoint",
    description = "The endpoint, without its secret: its events, whether it is on, and since when it fails, if it does.",
    tag = "staff",
    security(("staff_jwt" = [])),
    params(("id" = i64, Path, description = "The endpoint's id", minimum = 1, maximum = 2147483647)),
    responses(
        (status = 200, description = "The endpoint, without its secret", body = WebhookView),
        (status = 401),
        (status = 403),
        (status = 404, description = "No such endpoint"),
    ),
)]
pub(super) async fn show(
    state: web::Data<AppState>,
    _admin: AdminUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = endpoint_id(path.into_inner())?;
    let endpoint = state
        .with_connection(move |conn| stored::find_endpoint(conn, id))
        .await?
        .ok_or_else(|| ApiError::not_found("webhook"))?;
    Ok(no_store(StatusCode::OK, &WebhookView::new(&endpoint, None)))
}

#[utoipa::path(
    patch,
    path = "/api/v1/admin/webhooks/{id}",
    operation_id = "updateWebhook",
    summary = "Change a webhook endpoint",
    description = "Changes what is given. `active: true` turns a disabled endpoint on again, its failures forgotten.",
    tag = "staff",
    security(("staff_jwt" = [])),
    params(("id" = i64, Path, description = "The endpoint's id", minimum = 1, maximum = 2147483647)),
    request_body = UpdateWebhookBody,
    responses(
        (status = 200, description = "The endpoint as changed", body = WebhookView),
        (status = 400),
        (status = 401),
        (status = 403),
        (status = 404, description = "No such endpoint"),
        (status = 413),
        (status = 422, description = "Invalid fields, named in `errors`"),
    ),
)]
pub(super) async fn update(
    state: web::Data<AppState>,
    admin: AdminUser,
    path: web::Path<i64>,
    body: web::Json<UpdateWebhookBody>,
) -> Result<HttpResponse, ApiError> {
    let id = endpoint_id(path.into_inner())?;
    let body = body.into_inner();
    let mut errors = FieldErrors::default();
    let description = description(body.description.as_deref(), &mut errors);
    let events = events(body.events.as_deref(), &mut errors);
    if let Some(Err(m)) = body.url.as_deref().map(TargetUrl::parse) {
        errors.add("url", m);
    }
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let url = match body.url.as_deref() {
        Some(raw) => Some(target(&state, raw).await?),
        None => None,
    };
    let change = WebhookChange {
        url,
        description,
        events,
        include_patient_data: body.include_patient_data,
        active: body.active,
    };
    let actor = admin.actor();
    let endpoint = state
        .with_connection(move |conn| {
            db::write_transaction(conn, |conn| {
                hooks::update(conn, id, &change, &actor, db::now())
            })
        })
        .await?;
    Ok(no_store(StatusCode::OK, &WebhookView::new(&endpoint, None)))
}

#[utoipa::path(
    delete,
    path = "/api/v1/admin/webhooks/{id}",
    operation_id = "deleteWebhook",
    summary = "Delete a webhook endpoint",
    description = "Deletes it with its deliveries, sent or not.",
    tag = "staff",
    security(("staff_jwt" = [])),
    params(("id" = i64, Path, description = "The endpoint's id", minimum = 1, maximum = 2147483647)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401),
        (status = 403),
        (status = 404, description = "No such endpoint"),
    ),
)]
pub(super) async fn delete(
    state: web::Data<AppState>,
    admin: AdminUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = endpoint_id(path.into_inner())?;
    let actor = admin.actor();
    state
        .with_connection(move |conn| {
            db::write_transaction(conn, |conn| hooks::delete(conn, id, &actor, db::now()))
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/webhooks/{id}/rotate-secret",
    operation_id = "rotateWebhookSecret",
    summary = "Rotate a webhook endpoint's secret",
    description = "Makes a new secret, answered this once. The old one keeps signing beside it for `overlap_hours` \
(default 24): each delivery meanwhile carries both signatures, so the receiver can switch without losing one. The body is optional.",
    tag = "staff",
    security(("staff_jwt" = [])),
    params(("id" = i64, Path, description = "The endpoint's id", minimum = 1, maximum = 2147483647)),
    request_body(content = Option<RotateBody>, description = "Optional: how long the old secret signs too", example = json!({"overlap_hours": 24})),
    responses(
        (status = 200, description = "Rotated; `secret` is the new one, shown this once", body = WebhookView),
        (status = 400),
        (status = 401),
        (status = 403),
        (status = 404, description = "No such endpoint"),
        (status = 413),
        (status = 422, description = "Invalid fields, named in `errors`"),
    ),
)]
pub(super) async fn rotate_secret(
    state: web::Data<AppState>,
    admin: AdminUser,
    path: web::Path<i64>,
    body: OptionalJson<RotateBody>,
) -> Result<HttpResponse, ApiError> {
    let id = endpoint_id(path.into_inner())?;
    let hours = body
        .0
        .and_then(|b| b.overlap_hours)
        .unwrap_or(DEFAULT_OVERLAP_HOURS);
    if !(0..=168).contains(&hours) {
        return Err(ApiError::invalid(
            "overlap_hours",
            "overlap_hours is 0 to 168",
        ));
    }
    let actor = admin.actor();
    let (endpoint, secret) = state
        .with_connection(move |conn| {
            db::write_transaction(conn, |conn| {
                hooks::rotate_secret(conn, id, Duration::hours(hours), &actor, db::now())
            })
        })
        .await?;
    Ok(no_store(
        StatusCode::OK,
        &WebhookView::new(&endpoint, Some(secret.expose().to_owned())),
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct DeliveryQuery {
    /// Only deliveries in this state (default: all).
    #[param(schema_with = delivery_status_schema)]
    status: Option<String>,
    /// The most to answer (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    #[param(minimum = 0, maximum = 2147483647)]
    offset: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/webhooks/{id}/deliveries",
    operation_id = "listWebhookDeliveries",
    summary = "An endpoint's deliveries",
    description = "Newest first, with each one's attempts, last status and error. Page with `limit` and `offset`.",
    tag = "staff",
    security(("staff_jwt" = [])),
    params(("id" = i64, Path, description = "The endpoint's id", minimum = 1, maximum = 2147483647), DeliveryQuery),
    responses(
        (status = 200, description = "Deliveries, newest first", body = DeliveryPage),
        (status = 400),
        (status = 401),
        (status = 403),
        (status = 404, description = "No such endpoint"),
    ),
)]
pub(super) async fn deliveries(
    state: web::Data<AppState>,
    _admin: AdminUser,
    path: web::Path<i64>,
    query: web::Query<DeliveryQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = endpoint_id(path.into_inner())?;
    let status = match query.status.as_deref() {
        Some(s) => Some(DeliveryStatus::parse(s).ok_or_else(|| {
            ApiError::BadRequest("`status` must be pending, delivered or failed".into())
        })?),
        None => None,
    };
    let limit = query.limit.unwrap_or(50);
    let offset = query.offset.unwrap_or(0);
    if !(1..=super::admin::MAX_PAGE).contains(&limit) || offset < 0 {
        return Err(ApiError::BadRequest(
            "`limit` must be 1 to 200 and `offset` not negative".into(),
        ));
    }
    let found = state
        .with_connection(move |conn| {
            stored::find_endpoint(conn, id)?.ok_or_else(|| ApiError::not_found("webhook"))?;
            Ok::<_, ApiError>(stored::list_deliveries(conn, id, status, limit, offset)?)
        })
        .await?;
    let items = found.into_iter().map(DeliveryView::new).collect();
    Ok(no_store(
        StatusCode::OK,
        &DeliveryPage {
            items,
            limit,
            offset,
        },
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/webhooks/deliveries/{id}/retry",
    operation_id = "retryWebhookDelivery",
    summary = "Retry a failed delivery",
    description = "Puts a delivery that was parked as failed back in the queue, due now, its attempts counted afresh. \
422 unless it failed, or while its endpoint is turned off.",
    tag = "staff",
    security(("staff_jwt" = [])),
    params(("id" = i64, Path, description = "The delivery's id", minimum = 1, maximum = 2147483647)),
    responses(
        (status = 200, description = "Queued again", body = DeliveryView),
        (status = 401),
        (status = 403),
        (status = 404, description = "No such delivery"),
        (status = 422, description = "Not failed, or its endpoint is off"),
    ),
)]
pub(super) async fn retry_delivery(
    state: web::Data<AppState>,
    admin: AdminUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = WebhookDeliveryId::try_from(path.into_inner())
        .map_err(|_| ApiError::not_found("delivery"))?;
    let actor = admin.actor();
    let delivery = state
        .with_connection(move |conn| {
            db::write_transaction(conn, |conn| hooks::retry(conn, id, &actor, db::now()))
        })
        .await?;
    state.wake_mail_worker();
    Ok(no_store(StatusCode::OK, &DeliveryView::new(delivery)))
}
