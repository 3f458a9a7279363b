//! HTTP handlers: each parses its request, calls one operation of `crate::clinic` (or one query
//! of `crate::db` for plain reads), and shapes the answer (`views`). One `configure` registers
//! every route.

pub(crate) mod access;
mod admin;
mod audit;
mod auth;
mod booking_policy;
mod bookings;
mod calendar;
mod fhir;
mod health;
mod holds;
mod locations;
mod metrics;
pub(crate) mod openapi;
mod pages;
mod patient_form;
mod patients;
mod providers;
mod reports;
mod schedule;
mod schedule_appointment;
mod series;
mod slots;
mod time_off;
mod views;
mod visit_types;
mod waitlist;
mod webhooks;

use actix_web::dev::ServiceResponse;
use actix_web::http::{header, StatusCode};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};

use crate::abuse::PublicPostLimit;
use crate::error::ApiError;

/// The operations the public-POST limit wraps in `configure` (`createBooking`, `bookEarliest`,
/// `createSeries`, `createHold`, `joinWaitlist`):
/// the OpenAPI document declares the limit's headers on exactly these, so keep the two together.
pub(crate) const RATE_LIMITED_OPERATIONS: [&str; 5] = [
    "createBooking",
    "bookEarliest",
    "createSeries",
    "createHold",
    "joinWaitlist",
];

/// `document` is the OpenAPI document as served (`openapi::served_document`): the docs page shows
/// the same one `/openapi.json` answers.
pub(crate) fn configure(
    cfg: &mut web::ServiceConfig,
    public_posts: &PublicPostLimit,
    document: &openapi::DocumentJson,
) {
    let document = web::Data::new(document.clone());
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
        .service(web::resource("/waitlist").route(web::get().to(pages::waitlist_page)))
        .service(web::resource("/waitlist.js").route(web::get().to(pages::waitlist_script)))
        .service(web::resource("/desk").route(web::get().to(pages::desk_page)))
        .service(web::resource("/desk.js").route(web::get().to(pages::desk_script)))
        .service(web::resource("/desk.css").route(web::get().to(pages::desk_style)))
        .service(web::resource("/i18n/en.json").route(web::get().to(pages::texts_en)))
        .service(web::resource("/i18n/es.json").route(web::get().to(pages::texts_es)))
        .service(
            web::resource("/openapi.json")
                .app_data(document.clone())
                .route(web::get().to(openapi::openapi_json)),
        )
        .service(web::resource("/calendar/{file}").route(web::get().to(calendar::feed)))
        .service(web::resource("/m/{code}").route(web::get().to(pages::manage_link)))
        .service(web::resource("/docs").route(web::get().to(docs_redirect)))
        // The docs page reads the same document (before its own catch-all path).
        .service(
            web::resource("/docs/openapi.json")
                .app_data(document)
                .route(web::get().to(openapi::docs_openapi_json)),
        )
        .service(
            utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}")
                .config(utoipa_swagger_ui::Config::new(["/docs/openapi.json"])),
        )
        .configure(|cfg| fhir::configure(cfg, public_posts))
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
                .service(
                    web::resource("/providers/{id}/time-off")
                        .route(web::get().to(time_off::list))
                        .route(web::post().to(time_off::create)),
                )
                .service(
                    web::resource("/providers/{id}/time-off/{time_off_id}")
                        .route(web::delete().to(time_off::delete)),
                )
                .service(
                    web::resource("/locations")
                        .route(web::get().to(locations::list))
                        .route(web::post().to(locations::create)),
                )
                .service(web::resource("/locations/{id}").route(web::patch().to(locations::update)))
                .service(
                    web::resource("/visit-types")
                        .route(web::get().to(visit_types::list))
                        .route(web::post().to(visit_types::create)),
                )
                .service(
                    web::resource("/visit-types/{id}").route(web::patch().to(visit_types::update)),
                )
                .service(web::resource("/slots").route(web::get().to(slots::list_free)))
                .service(web::resource("/slots/{id}").route(web::patch().to(slots::update_status)))
                .service(
                    web::resource("/bookings")
                        // createBooking, in RATE_LIMITED_OPERATIONS
                        .route(
                            web::post()
                                .to(bookings::create)
                                .wrap(public_posts.middleware()),
                        )
                        .route(web::get().to(bookings::day_sheet)),
                )
                .service(
                    web::resource("/booking-policy").route(web::get().to(booking_policy::show)),
                )
                .service(
                    web::resource("/holds")
                        // createHold, in RATE_LIMITED_OPERATIONS
                        .route(
                            web::post()
                                .to(holds::create)
                                .wrap(public_posts.middleware()),
                        ),
                )
                .service(
                    web::resource("/holds/current")
                        .route(web::get().to(holds::show))
                        .route(web::delete().to(holds::release)),
                )
                .service(
                    web::resource("/waitlist")
                        // joinWaitlist, in RATE_LIMITED_OPERATIONS
                        .route(
                            web::post()
                                .to(waitlist::join)
                                .wrap(public_posts.middleware()),
                        ),
                )
                .service(web::resource("/waitlist/verify").route(web::post().to(waitlist::verify)))
                .service(
                    web::resource("/waitlist/current")
                        .route(web::get().to(waitlist::show))
                        .route(web::delete().to(waitlist::leave)),
                )
                .service(
                    web::resource("/waitlist/offers/current")
                        .route(web::get().to(waitlist::show_offer)),
                )
                .service(
                    web::resource("/waitlist/offers/current/accept")
                        .route(web::post().to(waitlist::accept)),
                )
                .service(
                    web::resource("/waitlist/offers/current/decline")
                        .route(web::post().to(waitlist::decline)),
                )
                .service(
                    web::resource("/admin/waitlist")
                        .route(web::get().to(waitlist::list))
                        .route(web::post().to(waitlist::add)),
                )
                .service(
                    web::resource("/admin/waitlist/{reference}")
                        .route(web::delete().to(waitlist::remove)),
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
                        .route(web::get().to(schedule_appointment::show))
                        // bookEarliest, in RATE_LIMITED_OPERATIONS
                        .route(
                            web::post()
                                .to(schedule_appointment::book)
                                .wrap(public_posts.middleware()),
                        ),
                )
                .service(
                    web::resource("/series")
                        // createSeries, in RATE_LIMITED_OPERATIONS
                        .route(
                            web::post()
                                .to(series::create)
                                .wrap(public_posts.middleware()),
                        ),
                )
                .service(web::resource("/series/{reference}").route(web::get().to(series::show)))
                .service(
                    web::resource("/series/{reference}/cancel")
                        .route(web::post().to(series::cancel)),
                )
                .service(web::resource("/audit").route(web::get().to(audit::list)))
                .service(web::resource("/patients").route(web::get().to(patients::search)))
                // Before `/patients/{id}`, which would take "duplicates" for an id.
                .service(
                    web::resource("/patients/duplicates")
                        .route(web::get().to(patients::duplicates)),
                )
                .service(web::resource("/patients/{id}").route(web::get().to(patients::show)))
                .service(
                    web::resource("/patients/{id}/merge").route(web::post().to(patients::merge)),
                )
                .service(
                    web::resource("/patients/{id}/duplicate-flag")
                        .route(web::delete().to(patients::clear_flag)),
                )
                .service(
                    web::resource("/patients/{id}/notes")
                        .route(web::post().to(patients::add_patient_note)),
                )
                .service(
                    web::resource("/bookings/{reference}/calendar.ics")
                        .route(web::get().to(bookings::calendar_file)),
                )
                .service(
                    web::resource("/bookings/{reference}/notes")
                        .route(web::post().to(patients::add_booking_note)),
                )
                .service(
                    web::resource("/notes/{id}")
                        .route(web::patch().to(patients::update_note))
                        .route(web::delete().to(patients::delete_note)),
                )
                .service(
                    web::resource("/admin/patients/{id}/export")
                        .route(web::get().to(patients::export)),
                )
                .service(
                    web::resource("/admin/patients/{id}/erase")
                        .route(web::post().to(patients::erase)),
                )
                .service(web::resource("/admin/outbox").route(web::get().to(admin::outbox_jobs)))
                .service(
                    web::resource("/admin/outbox/{id}/retry")
                        .route(web::post().to(admin::retry_outbox_job)),
                )
                .service(
                    web::resource("/admin/reports/sources")
                        .route(web::get().to(admin::sources_report)),
                )
                .service(
                    web::resource("/admin/reports").route(web::get().to(reports::providers_report)),
                )
                .service(
                    web::resource("/providers/{id}/calendar-feed")
                        .route(web::post().to(calendar::rotate))
                        .route(web::delete().to(calendar::revoke)),
                )
                .service(
                    web::resource("/admin/webhooks")
                        .route(web::get().to(webhooks::list))
                        .route(web::post().to(webhooks::create)),
                )
                .service(
                    web::resource("/admin/webhooks/{id}")
                        .route(web::get().to(webhooks::show))
                        .route(web::patch().to(webhooks::update))
                        .route(web::delete().to(webhooks::delete)),
                )
                .service(
                    web::resource("/admin/webhooks/{id}/rotate-secret")
                        .route(web::post().to(webhooks::rotate_secret)),
                )
                .service(
                    web::resource("/admin/webhooks/{id}/deliveries")
                        .route(web::get().to(webhooks::deliveries)),
                )
                .service(
                    web::resource("/admin/webhooks/deliveries/{id}/retry")
                        .route(web::post().to(webhooks::retry_delivery)),
                ),
        );
}

/// Every unknown path: a problem document, not an empty 404.
pub(crate) async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!(
        "{} {}",
        req.method(),
        req.path()
    )))
}

/// `/docs`, the first address people type: the docs page lives at `/docs/`.
#[utoipa::path(
    get,
    path = "/docs",
    operation_id = "redirectToDocs",
    summary = "The docs page",
    description = "Redirects to the Swagger UI page at `/docs/`.",
    tag = "health",
    security(()),
    responses((status = 308, description = "Redirects to the docs page at /docs/")),
)]
pub(crate) async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/docs/"))
        .finish()
}

/// Every error answer that is not a problem document yet becomes one: actix's empty 405 for a
/// known path asked with another method, the docs assets' bare 404, a refused CORS preflight.
/// The headers the client acts on (`Allow`, `Retry-After`, `Vary`, CORS) are kept.
pub(crate) fn problem_document<B>(
    response: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    // Under `/fhir` every error is an OperationOutcome; elsewhere a problem document.
    let path = response.request().path();
    let at_fhir = path == "/fhir" || path.starts_with("/fhir/");
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.as_bytes().to_vec())
        .unwrap_or_default();
    let done = content_type.starts_with(b"application/fhir+json")
        || (!at_fhir && content_type.starts_with(crate::error::PROBLEM_JSON.as_bytes()));
    if done {
        return Ok(ErrorHandlerResponse::Response(
            response.map_into_left_body(),
        ));
    }
    let (req, original) = response.into_parts();
    let status = original.status();
    let error = match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            ApiError::MethodNotAllowed(format!("{} is not allowed on {}", req.method(), req.path()))
        }
        StatusCode::NOT_FOUND => ApiError::NotFound(format!("{} {}", req.method(), req.path())),
        status => ApiError::Status(status),
    };
    let mut problem = if at_fhir {
        // An extractor's refusal (a token, a body too large) says what it was.
        let detail = original
            .error()
            .and_then(|e| e.as_error::<ApiError>())
            .map_or_else(|| error.detail(), ApiError::detail);
        fhir::outcome_response(status, &detail)
    } else {
        error.error_response()
    };
    for (name, value) in original.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            problem.headers_mut().append(name.clone(), value.clone());
        }
    }
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, problem).map_into_right_body(),
    ))
}
