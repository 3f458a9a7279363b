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

use actix_web::{web, HttpRequest, HttpResponse};
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
    // next resource's 404.
    cfg.route("/health", web::get().to(health::health))
        .route("/health/live", web::get().to(health::live))
        .route("/health/ready", web::get().to(health::ready))
        .route("/metrics", web::get().to(metrics::metrics))
        .route("/book", web::get().to(pages::book_page))
        .route("/book.js", web::get().to(pages::book_script))
        .route("/book.css", web::get().to(pages::book_style))
        .route("/widget.js", web::get().to(pages::widget_script))
        .route("/openapi.json", web::get().to(openapi::openapi_json))
        .service(
            utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}")
                .url("/docs/openapi.json", openapi::ApiDoc::openapi()),
        )
        .service(
            web::scope("/api/v1")
                .route("/auth/login", web::post().to(auth::login))
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
                .route("/providers/{id}/slots", web::post().to(slots::create))
                .route("/providers/{id}/schedule", web::post().to(schedule::apply))
                .route("/slots", web::get().to(slots::list_free))
                .route("/slots/{id}", web::patch().to(slots::update_status))
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
                .route(
                    "/bookings/{reference}/cancel",
                    web::post().to(bookings::cancel),
                )
                .route(
                    "/bookings/{reference}/reschedule",
                    web::post().to(bookings::reschedule),
                )
                .service(
                    web::resource("/schedule-appointment")
                        .wrap(public_posts.middleware())
                        .route(web::get().to(schedule_appointment::show))
                        .route(web::post().to(schedule_appointment::book)),
                )
                .route("/audit", web::get().to(audit::list))
                .route("/admin/outbox", web::get().to(admin::outbox_jobs))
                .route(
                    "/admin/outbox/{id}/retry",
                    web::post().to(admin::retry_outbox_job),
                )
                .route(
                    "/admin/reports/sources",
                    web::get().to(admin::sources_report),
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
