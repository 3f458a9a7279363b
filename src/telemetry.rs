//! Logging: readable lines in development, JSON in production. Filter with `RUST_LOG`.
//!
//! Patient data never reaches the log: handlers log references and statuses only, request
//! logging records method, route pattern, status, latency and request id (never bodies or `Authorization`), and errors log
//! database messages, which name constraints rather than values.

use std::io::IsTerminal;
use std::time::Instant;

use actix_web::HttpMessage;

use tracing_subscriber::{fmt, EnvFilter};

/// Installs the logger. Lines are written to standard output by a thread of their own, so a
/// request never waits on the terminal, pipe or collector (a request line each cost cached
/// answers about 30% of their throughput when written in place). Nothing is dropped: when the
/// queue is full, logging waits. Keep the guard alive: dropping it flushes what is queued.
pub fn init(json: bool) -> tracing_appender::non_blocking::WorkerGuard {
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("log-writer")
        .finish(std::io::stdout());
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(colours_wanted())
        .with_writer(writer);
    // A second init (tests) is harmless: the first subscriber stays.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    guard
}

/// Colours in the log lines only for a person at a terminal: never in a file, a pipe or a log
/// collector, and not with `NO_COLOR` set (<https://no-color.org>). The lines go to standard
/// output, the formatter's writer.
fn colours_wanted() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// When a request arrived, for the latency on its finishing line.
struct RequestStarted(Instant);

/// The request span, minus what could carry patient data. tracing-actix-web's default span
/// records the raw target (a manage link's query holds a token), the client's address and user
/// agent, and the `Debug` of every error (a JSON error echoes the offending value). This one
/// records the method, the matched route pattern and the request id; an error records only its
/// status; each request ends with one line: route, status, latency in milliseconds.
pub struct RequestSpan;

impl tracing_actix_web::RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &actix_web::dev::ServiceRequest) -> tracing::Span {
        request
            .extensions_mut()
            .insert(RequestStarted(Instant::now()));
        let request_id = request
            .extensions()
            .get::<tracing_actix_web::RequestId>()
            .map(|id| id.to_string())
            .unwrap_or_default();
        let route = request
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %route,
            request_id = %request_id,
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        )
    }

    fn on_request_end<B: actix_web::body::MessageBody>(
        span: tracing::Span,
        outcome: &Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>,
    ) {
        let (status, latency_ms) = match outcome {
            Ok(response) => (
                response.status(),
                response
                    .request()
                    .extensions()
                    .get::<RequestStarted>()
                    .map(|started| started.0.elapsed().as_secs_f64() * 1000.0),
            ),
            Err(error) => (error.as_response_error().status_code(), None),
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
        span.in_scope(|| {
            tracing::info!(
                status = status.as_u16(),
                latency_ms = latency_ms.map(|ms| (ms * 1000.0).round() / 1000.0),
                "request finished"
            )
        });
    }
}

/// Headers every response carries: the request id (the one in the log lines, so a patient's
/// "it failed" can be found), `nosniff`, no referrer, `no-store` on API answers (they carry
/// patient data or change often), and a strict content security policy on the docs page.
pub(crate) async fn response_headers(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    use actix_web::http::header::{self, HeaderName, HeaderValue};
    use actix_web::HttpMessage;

    let request_id = req
        .extensions()
        .get::<tracing_actix_web::RequestId>()
        .and_then(|id| HeaderValue::from_str(&id.to_string()).ok());
    let api = req.path().starts_with("/api/");
    let docs = req.path().starts_with("/docs");
    let mut response = next.call(req).await?;
    let status = response.status();
    let headers = response.headers_mut();
    if let Some(id) = request_id {
        headers.insert(HeaderName::from_static("x-request-id"), id);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if !headers.contains_key(header::REFERRER_POLICY) {
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    if (api || status.is_client_error() || status.is_server_error())
        && !headers.contains_key(header::CACHE_CONTROL)
    {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if docs {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                 connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            ),
        );
    }
    Ok(response)
}
