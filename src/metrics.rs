//! Operational metrics in the Prometheus text format: HTTP traffic by route pattern, booking
//! outcomes, mail delivery, the outbox and the connection pool.
//!
//! Labels never hold request paths, booking references or anything a patient typed: routes are
//! the registered patterns (`/api/v1/bookings/{reference}`), methods are the standard ones.
//! Each application owns its registry (no process-wide state), so several apps in one test
//! process keep their counts apart.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::web;
use prometheus::{
    exponential_buckets, Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter,
    IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

/// The label of requests no route matched; their paths are whatever a client sent.
const UNMATCHED_ROUTE: &str = "unmatched";

pub(crate) struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    bookings_created: IntCounter,
    bookings_cancelled: IntCounter,
    booking_conflicts: IntCounter,
    mail_sent: IntCounter,
    mail_attempts_failed: IntCounter,
    mail_parked: IntCounter,
    outbox_pending: IntGauge,
    outbox_oldest_pending_age: IntGauge,
    outbox_failed: IntGauge,
    pool_connections: IntGauge,
    pool_in_use: IntGauge,
    pool_max: IntGauge,
    waitlist_offers: IntGaugeVec,
    waitlist_rebooked: Histogram,
}

/// A snapshot of the outbox, read from the database when scraped (so every copy of the app
/// reports the same shared queue).
pub(crate) struct OutboxSnapshot {
    pub pending: i64,
    pub oldest_pending_age_seconds: i64,
    pub failed: i64,
}

impl Metrics {
    pub(crate) fn new() -> prometheus::Result<Self> {
        let registry = Registry::new_custom(Some("clinic".into()), None)?;
        let http_requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests answered"),
            &["method", "route", "status"],
        )?;
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time from request to response headers",
            )
            // 1 ms to about 16 s.
            .buckets(exponential_buckets(0.001, 2.0, 15)?),
            &["method", "route", "status"],
        )?;
        let waitlist_offers = IntGaugeVec::new(
            Opts::new(
                "waitlist_offers",
                "Waitlist offers ever made, by where they stand now (offered, accepted, declined, expired); read from the database at each scrape",
            ),
            &["status"],
        )?;
        let waitlist_rebooked = Histogram::with_opts(
            HistogramOpts::new(
                "waitlist_rebook_seconds",
                "Time from a time becoming free (a cancellation, ...) to its booking from the waitlist",
            )
            // 1 s to about 9 hours.
            .buckets(exponential_buckets(1.0, 2.0, 16)?),
        )?;
        let counter = |name: &str, help: &str| IntCounter::new(name, help);
        let gauge = |name: &str, help: &str| IntGauge::new(name, help);
        let metrics = Self {
            bookings_created: counter("bookings_created_total", "Bookings made")?,
            bookings_cancelled: counter("bookings_cancelled_total", "Bookings cancelled")?,
            booking_conflicts: counter(
                "booking_conflicts_total",
                "Booking attempts refused because the slot was taken or none fitted",
            )?,
            mail_sent: counter("mail_sent_total", "Outbox jobs delivered")?,
            mail_attempts_failed: counter(
                "mail_attempts_failed_total",
                "Delivery attempts that failed (retried or parked)",
            )?,
            mail_parked: counter(
                "mail_parked_total",
                "Outbox jobs parked as failed after their last attempt",
            )?,
            outbox_pending: gauge(
                "outbox_pending_jobs",
                "Outbox jobs due and not yet sent (reminders for later visits are not due)",
            )?,
            outbox_oldest_pending_age: gauge(
                "outbox_oldest_pending_age_seconds",
                "How long the longest-waiting due outbox job has been due (0 when none is)",
            )?,
            outbox_failed: gauge(
                "outbox_failed_jobs",
                "Outbox jobs parked as failed, waiting for staff",
            )?,
            pool_connections: gauge("db_pool_connections", "Open database connections")?,
            pool_in_use: gauge("db_pool_connections_in_use", "Database connections in use")?,
            pool_max: gauge(
                "db_pool_max_connections",
                "Size limit of the connection pool",
            )?,
            http_requests,
            http_duration,
            waitlist_offers,
            waitlist_rebooked,
            registry,
        };
        metrics.register_all()?;
        Ok(metrics)
    }

    fn register_all(&self) -> prometheus::Result<()> {
        let r = &self.registry;
        r.register(Box::new(self.http_requests.clone()))?;
        r.register(Box::new(self.http_duration.clone()))?;
        r.register(Box::new(self.waitlist_offers.clone()))?;
        r.register(Box::new(self.waitlist_rebooked.clone()))?;
        for counter in [
            &self.bookings_created,
            &self.bookings_cancelled,
            &self.booking_conflicts,
            &self.mail_sent,
            &self.mail_attempts_failed,
            &self.mail_parked,
        ] {
            r.register(Box::new(counter.clone()))?;
        }
        for gauge in [
            &self.outbox_pending,
            &self.outbox_oldest_pending_age,
            &self.outbox_failed,
            &self.pool_connections,
            &self.pool_in_use,
            &self.pool_max,
        ] {
            r.register(Box::new(gauge.clone()))?;
        }
        Ok(())
    }

    pub(crate) fn record_request(&self, method: &Method, route: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        let labels = [method_label(method), route, status.as_str()];
        self.http_requests.with_label_values(&labels).inc();
        self.http_duration
            .with_label_values(&labels)
            .observe(seconds);
    }

    pub(crate) fn booking_created(&self) {
        self.bookings_created.inc();
    }

    pub(crate) fn booking_cancelled(&self) {
        self.bookings_cancelled.inc();
    }

    pub(crate) fn booking_conflict(&self) {
        self.booking_conflicts.inc();
    }

    pub(crate) fn mail_sent(&self) {
        self.mail_sent.inc();
    }

    pub(crate) fn mail_attempt_failed(&self, parked: bool) {
        self.mail_attempts_failed.inc();
        if parked {
            self.mail_parked.inc();
        }
    }

    pub(crate) fn set_outbox(&self, outbox: &OutboxSnapshot) {
        self.outbox_pending.set(outbox.pending);
        self.outbox_oldest_pending_age
            .set(outbox.oldest_pending_age_seconds.max(0));
        self.outbox_failed.set(outbox.failed);
    }

    /// How many waitlist offers stand at each status, as the database counts them.
    pub(crate) fn set_waitlist_offers(&self, counts: &[(&str, i64)]) {
        for (status, count) in counts {
            self.waitlist_offers
                .with_label_values(&[status])
                .set(*count);
        }
    }

    /// A freed time booked from the waitlist `seconds` after it became free.
    pub(crate) fn waitlist_rebooked(&self, seconds: f64) {
        self.waitlist_rebooked.observe(seconds.max(0.0));
    }

    pub(crate) fn set_pool(&self, state: diesel::r2d2::State, max_size: u32) {
        self.pool_connections.set(i64::from(state.connections));
        self.pool_in_use.set(i64::from(
            state.connections.saturating_sub(state.idle_connections),
        ));
        self.pool_max.set(i64::from(max_size));
    }

    /// The text exposition of every metric.
    pub(crate) fn render(&self) -> prometheus::Result<String> {
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer)?;
        String::from_utf8(buffer).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}

/// Anything but the standard methods is one label value, so a client cannot mint new series.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Middleware counting and timing each request by its matched route pattern and status.
pub(crate) async fn track_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let method = req.method().clone();
    let route = req
        .match_pattern()
        .unwrap_or_else(|| UNMATCHED_ROUTE.to_owned());
    let started = Instant::now();
    let outcome = next.call(req).await;
    if let Some(metrics) = metrics {
        let status = match &outcome {
            Ok(response) => response.status(),
            Err(error) => error.as_response_error().status_code(),
        };
        metrics.record_request(
            &method,
            &route,
            status.as_u16(),
            started.elapsed().as_secs_f64(),
        );
    }
    outcome
}
