//! The OpenAPI 3.1 document, generated from the handlers' annotations and the types they take
//! and return, served at `/openapi.json`, with Swagger UI at `/docs` from assets compiled into
//! the binary (no CDN).

use actix_web::{HttpResponse, Responder};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    admin, audit, auth, bookings, health, metrics, pages, providers, schedule,
    schedule_appointment, slots,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "clinic-booking",
        description = "Appointment booking for clinics: providers, free slots, patient bookings, \
the \"Schedule an appointment\" call to action, and the front desk's staff API. Errors are RFC 9457 \
`application/problem+json`. Instants are RFC 3339; dates are the clinic's local dates.",
        license(name = "MIT OR Apache-2.0")
    ),
    paths(
        health::health,
        health::live,
        health::ready,
        metrics::metrics,
        providers::list,
        providers::show,
        providers::create,
        providers::update,
        slots::list_free,
        slots::create,
        slots::update_status,
        schedule::apply,
        bookings::create,
        bookings::show,
        bookings::cancel,
        bookings::reschedule,
        bookings::update_status,
        bookings::day_sheet,
        schedule_appointment::show,
        schedule_appointment::book,
        auth::login,
        audit::list,
        admin::outbox_jobs,
        admin::retry_outbox_job,
        admin::sources_report,
        pages::book_page,
        pages::book_script,
        pages::book_style,
        pages::widget_script,
        openapi_json,
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "providers", description = "The clinic's providers"),
        (name = "slots", description = "Free times"),
        (name = "bookings", description = "A patient's booking, opened with its manage token"),
        (name = "schedule-appointment", description = "The articles' call to action"),
        (name = "staff", description = "The front desk and admins (staff token)"),
        (name = "pages", description = "The booking page and the widget"),
        (name = "health", description = "Liveness, readiness and metrics"),
    )
)]
pub struct ApiDoc;

/// The two bearer schemes: staff logins and the per-booking manage token. Both are JWTs with
/// different audiences; neither opens what the other does.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, description) in [
            ("staff_jwt", "A staff token from POST /api/v1/auth/login"),
            (
                "manage_token",
                "The manage_token returned when the booking was made; opens that booking only",
            ),
        ] {
            components.add_security_scheme(
                name,
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("JWT")
                        .description(Some(description))
                        .build(),
                ),
            );
        }
    }
}

/// The document itself.
#[utoipa::path(get, path = "/openapi.json", tag = "health", security(()), responses(
    (status = 200, description = "This OpenAPI 3.1 document", content_type = "application/json")
))]
pub async fn openapi_json() -> impl Responder {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
