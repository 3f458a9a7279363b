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
        super::docs_redirect,
    ),
    components(schemas(crate::error::ProblemDetails)),
    modifiers(&SecuritySchemes, &ProblemResponses),
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
pub(crate) struct ApiDoc;

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

/// Every error response is a problem document: handlers list their 4xx/5xx answers by status
/// (with a description where the endpoint's own words say more than the usual one), and this
/// gives each the `application/problem+json` body, declared here once.
struct ProblemResponses;

/// The usual description of an error status, for responses whose handler gives none.
fn usual_description(status: &str) -> Option<&'static str> {
    Some(match status {
        "400" => "Malformed JSON, query or header",
        "401" => "Missing, invalid or expired token",
        "403" => "The token's role may not do this",
        "413" => "JSON body over 64 KiB",
        "422" => "Invalid fields, named in `errors`",
        "429" => "Too many requests; see Retry-After",
        "503" => "The database does not answer",
        _ => return None,
    })
}

impl Modify for ProblemResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, RefOr};
        let problem = RefOr::T(
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ProblemDetails")))
                .build(),
        );
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.options,
                &mut item.head,
                &mut item.patch,
                &mut item.trace,
            ];
            for operation in operations.into_iter().flatten() {
                for (status, response) in operation.responses.responses.iter_mut() {
                    let RefOr::T(response) = response else {
                        continue;
                    };
                    if !(status.starts_with('4') || status.starts_with('5')) {
                        continue;
                    }
                    if response.description.is_empty() {
                        response.description =
                            usual_description(status).unwrap_or_default().to_owned();
                    }
                    if response.content.is_empty() {
                        response
                            .content
                            .insert(crate::error::PROBLEM_JSON.to_owned(), problem.clone());
                    }
                }
            }
        }
    }
}

/// The document itself.
#[utoipa::path(get, path = "/openapi.json", tag = "health", security(()), responses(
    (status = 200, description = "This OpenAPI 3.1 document", content_type = "application/json")
))]
pub(crate) async fn openapi_json() -> impl Responder {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
