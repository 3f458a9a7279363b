//! The OpenAPI 3.1 document, generated from the handlers' annotations and the types they take
//! and return, served at `/openapi.json`, with Swagger UI at `/docs` from assets compiled into
//! the binary (no CDN).

use actix_web::{web, HttpResponse};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::settings::Settings;

use super::{
    admin, audit, auth, booking_policy, bookings, calendar, health, holds, locations, metrics,
    pages, patients, providers, reports, schedule, schedule_appointment, series, slots, time_off,
    visit_types, waitlist, webhooks,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "clinic-booking",
        description = "Appointment booking for clinics: providers, free slots, patient bookings, \
the \"Schedule an appointment\" call to action, and the front desk's staff API. Errors are RFC 9457 \
`application/problem+json`. Instants are RFC 3339; dates are the clinic's local dates.",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0")
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
        visit_types::list,
        visit_types::create,
        visit_types::update,
        locations::list,
        locations::create,
        locations::update,
        time_off::create,
        time_off::list,
        time_off::delete,
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
        series::create,
        series::show,
        series::cancel,
        holds::create,
        holds::show,
        holds::release,
        waitlist::join,
        waitlist::verify,
        waitlist::show,
        waitlist::leave,
        waitlist::show_offer,
        waitlist::accept,
        waitlist::decline,
        waitlist::add,
        waitlist::list,
        waitlist::remove,
        booking_policy::show,
        schedule_appointment::show,
        schedule_appointment::book,
        auth::login,
        audit::list,
        admin::outbox_jobs,
        admin::retry_outbox_job,
        admin::sources_report,
        reports::providers_report,
        bookings::calendar_file,
        patients::search,
        patients::duplicates,
        patients::show,
        patients::merge,
        patients::clear_flag,
        patients::add_patient_note,
        patients::add_booking_note,
        patients::update_note,
        patients::delete_note,
        patients::export,
        patients::erase,
        webhooks::list,
        webhooks::create,
        webhooks::show,
        webhooks::update,
        webhooks::delete,
        webhooks::rotate_secret,
        webhooks::deliveries,
        webhooks::retry_delivery,
        calendar::rotate,
        calendar::revoke,
        calendar::feed,
        pages::book_page,
        pages::book_script,
        pages::book_style,
        pages::widget_script,
        pages::waitlist_page,
        pages::waitlist_script,
        pages::desk_page,
        pages::desk_script,
        pages::desk_style,
        pages::manage_link,
        pages::texts_en,
        pages::texts_es,
        openapi_json,
        docs_openapi_json,
        super::docs_redirect,
    ),
    components(schemas(crate::error::ProblemDetails)),
    modifiers(&SecuritySchemes, &ProblemResponses, &RateLimitHeaders),
    tags(
        (name = "providers", description = "The clinic's providers"),
        (name = "slots", description = "Free times"),
        (name = "bookings", description = "A patient's booking, opened with its manage token, and the rules bookings follow"),
        (name = "schedule-appointment", description = "The articles' call to action"),
        (name = "waitlist", description = "Patients waiting for an earlier time, and the offers they get when one frees up"),
        (name = "staff", description = "The front desk and admins (staff token)"),
        (name = "patients", description = "Patients as records: search, history, notes; export and erasure (staff token)"),
        (name = "pages", description = "The booking and waitlist pages, the widget and the front-desk console"),
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
            (
                "staff_jwt",
                "A staff token from POST /api/v1/auth/login. JWTs follow RFC8725's best practices: \
                 HS256 only, exp, aud, iss and sub required, no leeway, an audience per token kind",
            ),
            (
                "manage_token",
                "The manage_token returned when the booking was made; opens that booking only. JWTs \
                 follow RFC8725's best practices, with an audience of their own",
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
        components.add_security_scheme(
            "waitlist_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A waitlist link's token: the entry's own (from joining), the verification \
                         link's, or an offer's (from the mails' links). Each kind has its own JWT \
                         audience and opens only its own endpoints. JWTs follow RFC8725's best \
                         practices (HS256 only; exp, aud, iss and sub required; no leeway)",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "hold_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The token returned when the hold was taken (`hold_` and 32 characters); \
                         opens that hold only, while it lasts and after",
                    ))
                    .build(),
            ),
        );
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
        "405" => "The path does not take this method",
        "429" => "Too many requests; see Retry-After",
        "500" => "An unexpected failure, logged under the answer's X-Request-Id",
        "503" => "The database does not answer",
        _ => return None,
    })
}

impl Modify for ProblemResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::header::Header;
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response};
        let request_id = Header::builder()
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::Custom("uuid".into())))
                    .max_length(Some(36))
                    .build(),
            ))
            .description(Some(
                "The id of this request in the server's log: quote it when reporting a problem",
            ))
            .build();
        let retry_after = Header::builder()
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                    .minimum(Some(0))
                    .maximum(Some(86_400))
                    .build(),
            ))
            .description(Some("Seconds to wait before trying again"))
            .build();
        let problem = RefOr::T(
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ProblemDetails")))
                .build(),
        );
        for operation in operations_mut(openapi) {
            // Any path answers a method it does not take with 405, and any request may meet an
            // unexpected failure (500, logged, its detail withheld).
            for status in ["405", "500"] {
                operation
                    .responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| RefOr::T(Response::new("")));
            }
            for (status, response) in operation.responses.responses.iter_mut() {
                let RefOr::T(response) = response else {
                    continue;
                };
                response
                    .headers
                    .entry("X-Request-Id".to_owned())
                    .or_insert_with(|| RefOr::T(request_id.clone()));
                if status == "429" || status == "503" {
                    response
                        .headers
                        .entry("Retry-After".to_owned())
                        .or_insert_with(|| RefOr::T(retry_after.clone()));
                }
            }
            for (status, response) in operation.responses.responses.iter_mut() {
                let RefOr::T(response) = response else {
                    continue;
                };
                if !(status.starts_with('4') || status.starts_with('5')) {
                    continue;
                }
                if response.description.is_empty() {
                    response.description = usual_description(status).unwrap_or_default().to_owned();
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

/// Every operation of the document, whatever its method.
fn operations_mut(
    openapi: &mut utoipa::openapi::OpenApi,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    openapi.paths.paths.values_mut().flat_map(|item| {
        [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ]
        .into_iter()
        .flatten()
    })
}

/// The public-POST limit's headers (`crate::abuse`), on the operations it wraps
/// (`routes::RATE_LIMITED_OPERATIONS`) and no others. It counts every request those routes take,
/// so every answer of theirs carries them (a 5xx too, undeclared: the OWASP rules ask for 2xx and
/// 4xx), but only while the limit is on: never `required`. Runs after `ProblemResponses`, so the
/// 405 and 429 it adds are covered.
struct RateLimitHeaders;

impl Modify for RateLimitHeaders {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::header::Header;
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        use utoipa::openapi::RefOr;
        let header = |minimum: u32, description: &str| {
            let header = Header::builder()
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                        .minimum(Some(minimum))
                        // APP__HTTP__RATE_LIMIT_PER_MINUTE is a u32.
                        .maximum(Some(u32::MAX))
                        .build(),
                ))
                .description(Some(description))
                .build();
            RefOr::T(header)
        };
        let limit = header(
            1,
            "How many public POSTs (bookings and the call to action's) one client address may \
             make in a minute, all at once if it likes (APP__HTTP__RATE_LIMIT_PER_MINUTE). Sent \
             while the limit is on, i.e. that setting is above 0",
        );
        let remaining = header(
            0,
            "How many more of them this address may make right now; one more every 60 / limit \
             seconds. Sent while the limit is on",
        );
        let after = header(
            0,
            "Seconds to wait before the next public POST from this address, as Retry-After. \
             Sent while the limit is on",
        );
        for operation in operations_mut(openapi) {
            let limited = operation
                .operation_id
                .as_deref()
                .is_some_and(|id| super::RATE_LIMITED_OPERATIONS.contains(&id));
            if !limited {
                continue;
            }
            for (status, response) in operation.responses.responses.iter_mut() {
                let RefOr::T(response) = response else {
                    continue;
                };
                if !(status.starts_with('2') || status.starts_with('4')) {
                    continue;
                }
                let headers = &mut response.headers;
                headers.insert("X-RateLimit-Limit".to_owned(), limit.clone());
                headers.insert("X-RateLimit-Remaining".to_owned(), remaining.clone());
                if status == "429" {
                    headers.insert("X-RateLimit-After".to_owned(), after.clone());
                }
            }
        }
    }
}

/// The document as this server serves it: its public address as the server, the clinic as the
/// contact.
pub(crate) fn served_document(settings: &Settings) -> utoipa::openapi::OpenApi {
    let mut document = ApiDoc::openapi();
    let base = settings.clinic.public_base_url.trim_end_matches('/');
    document.servers = Some(vec![utoipa::openapi::server::ServerBuilder::new()
        .url(base)
        .description(Some(server_description(settings)))
        // The address patients and the clinic's websites use: public, not an internal one.
        .extensions(Some(
            utoipa::openapi::extensions::ExtensionsBuilder::new()
                .add("x-internal", false)
                .build(),
        ))
        .build()]);
    document.info.contact = Some(
        utoipa::openapi::info::ContactBuilder::new()
            .name(Some(settings.clinic.name.as_str()))
            .url(Some(base))
            .build(),
    );
    document
}

/// The clinic, and which environment this copy runs as (`APP_ENV`): production, or the default
/// profile's local copy (demo data, mail written to files), so a reader knows what they reach.
fn server_description(settings: &Settings) -> String {
    let environment = if settings.is_production() {
        "production"
    } else {
        "local development copy, APP_ENV=default"
    };
    format!("{} ({environment})", settings.clinic.name)
}

#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "getOpenApiDocument",
    summary = "This OpenAPI document",
    description = "The OpenAPI 3.1 document of this API, with this server's public address.",
    tag = "health",
    security(()),
    responses(
        (status = 200, description = "This OpenAPI 3.1 document", content_type = "application/json")
    ),
)]
pub(crate) async fn openapi_json(document: web::Data<DocumentJson>) -> HttpResponse {
    super::views::json_body(document.0.clone())
}

#[utoipa::path(
    get,
    path = "/docs/openapi.json",
    operation_id = "getDocsOpenApiDocument",
    summary = "This OpenAPI document, for the docs page",
    description = "The same document as `/openapi.json`; the docs page (`/docs`) reads it here.",
    tag = "health",
    security(()),
    responses(
        (status = 200, description = "This OpenAPI 3.1 document", content_type = "application/json")
    ),
)]
pub(crate) async fn docs_openapi_json(document: web::Data<DocumentJson>) -> HttpResponse {
    openapi_json(document).await
}

/// The served document as JSON, written once when the server starts. As `utoipa`'s structures
/// the document is megabytes, and the server kept several copies (one per HTTP worker for the
/// docs page, one to serve) for all its life: most of its memory at rest.
#[derive(Clone)]
pub(crate) struct DocumentJson(web::Bytes);

impl DocumentJson {
    pub(crate) fn new(settings: &Settings) -> Result<Self, serde_json::Error> {
        serde_json::to_vec(&served_document(settings)).map(|json| Self(json.into()))
    }
}

#[cfg(test)]
mod tests {
    //! The document's bounds and names come from the same constants and enums the handlers
    //! enforce: a change to one that forgets the other fails here.

    use serde_json::Value;

    use super::*;

    fn document() -> Value {
        serde_json::to_value(ApiDoc::openapi()).expect("the document as JSON")
    }

    fn parameter<'a>(doc: &'a Value, path: &str, name: &str) -> &'a Value {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == name))
            .unwrap_or_else(|| panic!("{path} has no parameter {name}"))
    }

    #[test]
    fn page_sizes_are_documented_as_enforced() {
        let doc = document();
        for (path, most) in [
            ("/api/v1/slots", super::super::slots::MAX_LIMIT),
            ("/api/v1/audit", super::super::audit::MAX_LIMIT),
            ("/api/v1/admin/outbox", super::super::admin::MAX_PAGE),
            (
                "/api/v1/schedule-appointment",
                super::super::schedule_appointment::MAX_SLOTS as i64,
            ),
        ] {
            let schema = &parameter(&doc, path, "limit")["schema"];
            assert_eq!(schema["maximum"], most, "{path}");
            assert_eq!(schema["minimum"], 1, "{path}");
        }
        let red_flags = &doc["components"]["schemas"]["Concern"]["properties"]["red_flags"];
        assert_eq!(
            red_flags["maxItems"],
            crate::domain::intake::RedFlag::ALL.len()
        );
        let schedule = &doc["components"]["schemas"]["ScheduleBody"]["properties"]["slot_minutes"];
        assert_eq!(
            schedule["minimum"],
            crate::domain::schedule::MIN_SLOT_MINUTES
        );
        assert_eq!(
            schedule["maximum"],
            crate::domain::schedule::MAX_SLOT_MINUTES
        );
    }

    #[test]
    fn exactly_the_rate_limited_operations_declare_the_limit_headers() {
        let doc = document();
        let mut limited = std::collections::BTreeSet::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("item") {
                let id = operation["operationId"].as_str().expect("an operationId");
                let expected = super::super::RATE_LIMITED_OPERATIONS.contains(&id);
                if expected {
                    limited.insert(id);
                }
                for (status, response) in operation["responses"].as_object().expect("responses") {
                    let headers = &response["headers"];
                    let client_visible = status.starts_with('2') || status.starts_with('4');
                    for name in ["X-RateLimit-Limit", "X-RateLimit-Remaining"] {
                        assert_eq!(
                            headers.get(name).is_some(),
                            expected && client_visible,
                            "{method} {path} {status}: {name}"
                        );
                    }
                    assert_eq!(
                        headers.get("X-RateLimit-After").is_some(),
                        expected && status == "429",
                        "{method} {path} {status}: X-RateLimit-After"
                    );
                    if let Some(limit) = headers.get("X-RateLimit-Limit") {
                        assert_eq!(limit["required"], Value::Null, "only while the limit is on");
                        assert_eq!(limit["schema"]["minimum"], 1);
                        assert_eq!(limit["schema"]["maximum"], u32::MAX);
                    }
                }
                if expected {
                    assert!(
                        operation["responses"].get("429").is_some(),
                        "{method} {path} declares no 429"
                    );
                }
            }
        }
        assert_eq!(
            limited,
            super::super::RATE_LIMITED_OPERATIONS.into_iter().collect(),
            "every rate-limited operation is in the document"
        );
    }

    #[test]
    fn the_served_document_names_its_public_server_and_environment() {
        let mut settings = Settings::load_from(std::path::Path::new("config"), "default")
            .expect("the default settings");
        settings.clinic.public_base_url = "https://book.clinic.example/".into();
        let served = serde_json::to_value(served_document(&settings)).expect("JSON");
        let server = &served["servers"][0];
        assert_eq!(served["servers"].as_array().map(Vec::len), Some(1));
        assert_eq!(server["url"], "https://book.clinic.example");
        assert_eq!(server["x-internal"], false);
        assert_eq!(
            server["description"],
            format!(
                "{} (local development copy, APP_ENV=default)",
                settings.clinic.name
            )
        );
        assert_eq!(
            served["info"]["contact"]["url"],
            "https://book.clinic.example"
        );

        settings.environment = "production".into();
        let served = serde_json::to_value(served_document(&settings)).expect("JSON");
        assert_eq!(
            served["servers"][0]["description"],
            format!("{} (production)", settings.clinic.name)
        );
    }

    /// Issue 21: an example for every request body (on the body or its schema), and for the
    /// answers a web developer reads first.
    #[test]
    fn request_bodies_and_the_main_answers_have_examples() {
        let doc = document();
        let has_example = |media: &Value| {
            let schema = match media["schema"]["$ref"].as_str() {
                Some(target) => {
                    let name = target.trim_start_matches("#/components/schemas/");
                    &doc["components"]["schemas"][name]
                }
                None => &media["schema"],
            };
            [media, schema]
                .iter()
                .any(|v| v.get("example").is_some() || v.get("examples").is_some())
        };
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("item") {
                let Some(content) = operation["requestBody"]["content"].as_object() else {
                    continue;
                };
                for (media_type, media) in content {
                    assert!(has_example(media), "{method} {path}: {media_type} body");
                }
            }
        }
        for (path, method, status) in [
            ("/api/v1/providers", "get", "200"),
            ("/api/v1/slots", "get", "200"),
            ("/api/v1/bookings", "post", "201"),
            ("/api/v1/bookings/{reference}", "get", "200"),
            ("/api/v1/schedule-appointment", "get", "200"),
            ("/api/v1/schedule-appointment", "post", "201"),
        ] {
            let media =
                &doc["paths"][path][method]["responses"][status]["content"]["application/json"];
            assert!(
                media.get("example").is_some(),
                "{method} {path} {status} has no example"
            );
        }
    }

    #[test]
    fn operation_ids_are_unique_and_every_operation_is_summarised() {
        let doc = document();
        let mut ids = std::collections::BTreeSet::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("item") {
                let id = operation["operationId"].as_str().expect("an operationId");
                assert!(ids.insert(id.to_owned()), "{id} twice");
                assert!(
                    operation["summary"].is_string(),
                    "{method} {path} has no summary"
                );
                assert!(
                    operation["description"].is_string(),
                    "{method} {path} has no description"
                );
            }
        }
    }
}
