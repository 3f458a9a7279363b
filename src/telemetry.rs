//! Logging: readable lines in development, JSON in production. Filter with `RUST_LOG`.
//!
//! Patient data never reaches the log: handlers log references and statuses only, request
//! logging records method, path and status (never bodies or `Authorization`), and errors log
//! database messages, which name constraints rather than values.

use tracing_subscriber::{fmt, EnvFilter};

pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt().with_env_filter(filter).with_target(false);
    // A second init (tests) is harmless: the first subscriber stays.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// The request span, minus what could carry patient data: tracing-actix-web's default records
/// the `Debug` of every error, and a JSON error echoes the offending value. Here an error
/// records only its status, and each request ends with one line: route, status, request id.
pub struct RequestSpan;

impl tracing_actix_web::RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &actix_web::dev::ServiceRequest) -> tracing::Span {
        tracing_actix_web::root_span!(level = tracing::Level::INFO, request)
    }

    fn on_request_end<B: actix_web::body::MessageBody>(
        span: tracing::Span,
        outcome: &Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>,
    ) {
        let status = match outcome {
            Ok(response) => response.status(),
            Err(error) => error.as_response_error().status_code(),
        };
        span.record("http.status_code", status.as_u16());
        span.record(
            "otel.status_code",
            if status.is_server_error() {
                "ERROR"
            } else {
                "OK"
            },
        );
        span.in_scope(|| tracing::info!(status = status.as_u16(), "request finished"));
    }
}
