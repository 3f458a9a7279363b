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
/// writer falls far behind, logging waits. Keep the guard alive: dropping it writes out what is
/// queued.
pub fn init(json: bool) -> LogWriterGuard {
    let writer = BatchedWriter::start(std::io::stdout());
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(colours_wanted())
        .with_writer(writer.clone());
    // A second init (tests) is harmless: the first subscriber stays.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    LogWriterGuard(writer)
}

/// Log lines gathered in memory and written out in batches by the `log-writer` thread.
///
/// `tracing-appender`'s non-blocking writer (used before) hands each line to its thread through a
/// channel, and that thread writes whatever it has as soon as it has it: at thousands of
/// requests a second, a wake-up and a `write` system call per line, about a quarter of the
/// server's CPU at `info` (perf, issue 20). Here a request appends its line to a buffer under a
/// lock; only the first line into an empty buffer wakes the thread, which lets lines gather for
/// `GATHER` and writes them with one call. A line is on its way out within about `GATHER`.
#[derive(Clone)]
pub struct BatchedWriter(std::sync::Arc<LogQueue>);

struct LogQueue {
    lines: parking_lot::Mutex<QueueState>,
    /// Lines arrived in an empty buffer, or the process is stopping.
    arrived: parking_lot::Condvar,
    /// The buffer was written out (for a request waiting on a full buffer, and for the guard).
    written: parking_lot::Condvar,
}

#[derive(Default)]
struct QueueState {
    buffer: Vec<u8>,
    /// Batches taken by the thread so far, and written so far.
    taken: u64,
    written: u64,
    stopping: bool,
}

/// How long the thread lets lines gather before writing them.
const GATHER: std::time::Duration = std::time::Duration::from_millis(20);
/// Past this many bytes waiting, a request waits for the thread (nothing is dropped).
const MOST_WAITING: usize = 4 * 1024 * 1024;

impl BatchedWriter {
    fn start<W: std::io::Write + Send + 'static>(mut out: W) -> Self {
        let queue = std::sync::Arc::new(LogQueue {
            lines: parking_lot::Mutex::new(QueueState::default()),
            arrived: parking_lot::Condvar::new(),
            written: parking_lot::Condvar::new(),
        });
        let thread_queue = queue.clone();
        let spawned = std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || {
                let queue = thread_queue;
                let mut batch = Vec::new();
                loop {
                    let (stopping, number) = {
                        let mut state = queue.lines.lock();
                        while state.buffer.is_empty() && !state.stopping {
                            queue.arrived.wait(&mut state);
                        }
                        if !state.stopping {
                            // Let more lines join the batch.
                            parking_lot::MutexGuard::unlocked(&mut state, || {
                                std::thread::sleep(GATHER)
                            });
                        }
                        std::mem::swap(&mut batch, &mut state.buffer);
                        state.taken += 1;
                        (state.stopping, state.taken)
                    };
                    // A log that cannot be written has nowhere to report it.
                    let _ = out.write_all(&batch).and_then(|()| out.flush());
                    batch.clear();
                    queue.lines.lock().written = number;
                    queue.written.notify_all();
                    if stopping {
                        break;
                    }
                }
            });
        if let Err(e) = spawned {
            eprintln!("cannot start the log writer thread: {e}");
        }
        Self(queue)
    }

    /// Writes out what is queued and stops the thread.
    fn finish(&self) {
        let mut state = self.0.lines.lock();
        state.stopping = true;
        let target = state.taken + 1;
        self.0.arrived.notify_one();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while state.written < target {
            if self.0.written.wait_until(&mut state, deadline).timed_out() {
                break;
            }
        }
    }
}

impl std::io::Write for BatchedWriter {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let mut state = self.0.lines.lock();
        while state.buffer.len() > MOST_WAITING && !state.stopping {
            self.0.written.wait(&mut state);
        }
        let was_empty = state.buffer.is_empty();
        state.buffer.extend_from_slice(line);
        drop(state);
        if was_empty {
            self.0.arrived.notify_one();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> fmt::MakeWriter<'a> for BatchedWriter {
    type Writer = BatchedWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Keeps the log writer running; dropping it writes out what is queued (at most a few seconds).
pub struct LogWriterGuard(BatchedWriter);

impl Drop for LogWriterGuard {
    fn drop(&mut self) {
        self.0.finish();
    }
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
        // Below `info` (the benchmarks' `warn`) there is no request line: nothing to prepare
        // (finding the route pattern walks the routes again, with their regular expressions).
        if !tracing::enabled!(tracing::Level::INFO) {
            return tracing::Span::none();
        }
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
        )
    }

    fn on_request_end<B: actix_web::body::MessageBody>(
        span: tracing::Span,
        outcome: &Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>,
    ) {
        if span.is_none() {
            return;
        }
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
        // The status goes on the finishing line only: recording it on the span as well made the
        // formatter write the span's fields out a second time for every request.
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Collects what the thread writes.
    #[derive(Clone, Default)]
    struct Sink(std::sync::Arc<parking_lot::Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_is_written_in_order_and_the_guard_writes_out_the_rest() {
        let sink = Sink::default();
        let writer = BatchedWriter::start(sink.clone());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let mut writer = writer.clone();
                std::thread::spawn(move || {
                    for i in 0..2000 {
                        writer
                            .write_all(format!("thread {t} line {i}\n").as_bytes())
                            .expect("queued");
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("a writing thread");
        }
        drop(LogWriterGuard(writer));
        let written = String::from_utf8(sink.0.lock().clone()).expect("text");
        for t in 0..4 {
            let numbers: Vec<usize> = written
                .lines()
                .filter_map(|l| l.strip_prefix(&format!("thread {t} line ")))
                .map(|n| n.parse().expect("a number"))
                .collect();
            assert_eq!(numbers, (0..2000).collect::<Vec<_>>(), "thread {t}");
        }
    }

    #[test]
    fn a_line_goes_out_without_waiting_for_more() {
        let sink = Sink::default();
        let mut writer = BatchedWriter::start(sink.clone());
        writer.write_all(b"alone\n").expect("queued");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while sink.0.lock().is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(sink.0.lock().as_slice(), b"alone\n");
        writer.finish();
    }
}
