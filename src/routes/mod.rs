//! HTTP handlers: parse the request, call the domain, shape the response. One `configure`
//! registers every route.

mod admin;
mod audit;
mod auth;
mod bookings;
mod health;
mod metrics;
pub mod openapi;
mod pages;
mod providers;
mod schedule;
mod schedule_appointment;
mod slots;

use actix_web::dev::ServiceResponse;
use actix_web::http::header::ContentType;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use utoipa::OpenApi;

use crate::abuse::PublicPostLimit;
use crate::db::providers::Provider;
use crate::db::slots::Slot;
use crate::error::ApiError;

pub fn configure(cfg: &mut web::ServiceConfig, public_posts: &PublicPostLimit) {
    // One resource per path, with a route per method, so a wrong method is a 405 and not the
    // next resource's 404 (`cfg.route(path, …)` would put the method on the resource itself).
    cfg.service(web::resource("/health").route(web::get().to(health::health)))
        .service(web::resource("/health/live").route(web::get().to(health::live)))
        .service(web::resource("/health/ready").route(web::get().to(health::ready)))
        .service(web::resource("/metrics").route(web::get().to(metrics::metrics)))
        .service(web::resource("/book").route(web::get().to(pages::book_page)))
        .service(web::resource("/book.js").route(web::get().to(pages::book_script)))
        .service(web::resource("/book.css").route(web::get().to(pages::book_style)))
        .service(web::resource("/widget.js").route(web::get().to(pages::widget_script)))
        .service(web::resource("/openapi.json").route(web::get().to(openapi::openapi_json)))
        .service(
            utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}")
                .url("/docs/openapi.json", openapi::ApiDoc::openapi()),
        )
        .service(
            web::scope("/api/v1")
                .service(web::resource("/auth/login").route(web::post().to(auth::login)))
                .service(
                    web::resource("/providers")
                        .route(web::get().to(providers::list))
                        .route(web::post().to(providers::create)),
                )
                .service(
                    web::resource("/providers/{id}")
                        .route(web::get().to(providers::show))
                        .route(web::patch().to(providers::update)),
                )
                .service(
                    web::resource("/providers/{id}/slots").route(web::post().to(slots::create)),
                )
                .service(
                    web::resource("/providers/{id}/schedule")
                        .route(web::post().to(schedule::apply)),
                )
                .service(web::resource("/slots").route(web::get().to(slots::list_free)))
                .service(web::resource("/slots/{id}").route(web::patch().to(slots::update_status)))
                .service(
                    web::resource("/bookings")
                        .wrap(public_posts.middleware())
                        .route(web::post().to(bookings::create))
                        .route(web::get().to(bookings::day_sheet)),
                )
                .service(
                    web::resource("/bookings/{reference}")
                        .route(web::get().to(bookings::show))
                        .route(web::patch().to(bookings::update_status)),
                )
                .service(
                    web::resource("/bookings/{reference}/cancel")
                        .route(web::post().to(bookings::cancel)),
                )
                .service(
                    web::resource("/bookings/{reference}/reschedule")
                        .route(web::post().to(bookings::reschedule)),
                )
                .service(
                    web::resource("/schedule-appointment")
                        .wrap(public_posts.middleware())
                        .route(web::get().to(schedule_appointment::show))
                        .route(web::post().to(schedule_appointment::book)),
                )
                .service(web::resource("/audit").route(web::get().to(audit::list)))
                .service(web::resource("/admin/outbox").route(web::get().to(admin::outbox_jobs)))
                .service(
                    web::resource("/admin/outbox/{id}/retry")
                        .route(web::post().to(admin::retry_outbox_job)),
                )
                .service(
                    web::resource("/admin/reports/sources")
                        .route(web::get().to(admin::sources_report)),
                ),
        );
}

/// Every unknown path: a problem document, not an empty 404.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!(
        "no route for {} {}",
        req.method(),
        req.path()
    )))
}

/// A known path asked with a method it does not take: actix answers 405 with an empty body, and
/// this makes it a problem document like every other error.
pub fn method_not_allowed<B>(
    response: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let (req, _) = response.into_parts();
    let problem =
        ApiError::MethodNotAllowed(format!("{} is not allowed on {}", req.method(), req.path()))
            .error_response();
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, problem).map_into_right_body(),
    ))
}

/// A 200 with a JSON body serialized beforehand (perhaps kept in the availability cache).
fn json_body(body: web::Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(body)
}

/// An instant as the API writes it: RFC 3339, UTC, whole seconds.
pub fn rfc3339(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A stored UTC timestamp in the clinic's local time, with its offset.
pub fn local_rfc3339(stored: NaiveDateTime, tz: Tz) -> String {
    stored
        .and_utc()
        .with_timezone(&tz)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProviderSummary {
    pub id: i32,
    pub name: String,
    pub title: String,
    pub specialty: String,
}

impl From<&Provider> for ProviderSummary {
    fn from(p: &Provider) -> Self {
        Self {
            id: p.id,
            name: p.name.clone(),
            title: p.title.clone(),
            specialty: p.specialty.clone(),
        }
    }
}

/// A slot as clients see it: UTC instants plus the clinic's local wall-clock time.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SlotView {
    pub id: i32,
    pub provider_id: i32,
    pub start: String,
    pub end: String,
    pub local_start: String,
    pub local_end: String,
    pub timezone: String,
    pub status: String,
    pub visit_type: Option<String>,
}

impl SlotView {
    pub fn new(slot: &Slot, tz: Tz) -> Self {
        Self {
            id: slot.id,
            provider_id: slot.provider_id,
            start: rfc3339(slot.starts_at.and_utc()),
            end: rfc3339(slot.ends_at.and_utc()),
            local_start: local_rfc3339(slot.starts_at, tz),
            local_end: local_rfc3339(slot.ends_at, tz),
            timezone: tz.name().to_owned(),
            status: slot.status.clone(),
            visit_type: slot.visit_type.clone(),
        }
    }
}

/// A free slot with the provider it is with, for lists patients choose from.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OpenSlotView {
    #[serde(flatten)]
    pub slot: SlotView,
    pub provider: ProviderSummary,
}

impl OpenSlotView {
    pub fn new((slot, provider): &(Slot, Provider), tz: Tz) -> Self {
        Self {
            slot: SlotView::new(slot, tz),
            provider: provider.into(),
        }
    }
}
