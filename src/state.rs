//! What every handler shares: the pool, settings, the booking policy, token keys, the mail
//! worker's wake-up, metrics, the password-check limit, the availability cache and whether the
//! copy is draining. Built once
//! by `startup`, read by the handlers and the extractors (which is why it lives apart from
//! `startup`, which imports them).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use actix_web::web;
use tokio::sync::Notify;

use crate::auth::jwt::TokenKeys;
use crate::auth::password::VerificationLimit;
use crate::availability::AvailabilityCache;
use crate::clinic::rules::BookingPolicy;
use crate::db::{DbConnection, Pool};
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::settings::Settings;

/// The largest JSON body accepted.
pub(crate) const MAX_JSON_BYTES: usize = 64 * 1024;

/// What every handler shares.
pub(crate) struct AppState {
    pub pool: Pool,
    pub settings: Arc<Settings>,
    /// The booking rules and reminder lead every booking operation takes (`booking_policy`).
    pub policy: Arc<BookingPolicy>,
    pub tokens: TokenKeys,
    /// Wakes this process's mail worker after a change queued mail (other copies poll).
    pub mail_wakeup: Arc<Notify>,
    /// Wakes this process's webhook worker likewise.
    pub webhook_wakeup: Arc<Notify>,
    /// And its text worker.
    pub texts_wakeup: Arc<Notify>,
    pub metrics: Arc<Metrics>,
    /// How many login password checks may run at once.
    pub password_checks: VerificationLimit,
    /// Free-slot lists answered from memory.
    pub availability: Arc<AvailabilityCache>,
    /// Set once a shutdown signal came.
    pub draining: Draining,
}

/// Whether this copy is on its way out: from a shutdown signal on, `/health/ready` answers 503
/// so that load balancers send it no new traffic, while it serves on for `server.drain_seconds`
/// (and answers with `Connection: close`, so clients reconnect to a copy that stays).
#[derive(Debug, Clone, Default)]
pub(crate) struct Draining(Arc<AtomicBool>);

impl Draining {
    pub(crate) fn begin(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub(crate) fn is_on(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// The booking policy the settings describe: built once, when the app starts.
pub(crate) fn booking_policy(settings: &Settings) -> BookingPolicy {
    BookingPolicy {
        rules: settings.booking.rules(),
        reminder_lead: chrono::Duration::hours(settings.mail.reminder_hours_before),
        text: settings.booking.policy_text.trim().to_owned(),
        clinic_phone: settings.clinic.phone.clone(),
        hold: chrono::Duration::minutes(settings.booking.hold_minutes),
        offer: chrono::Duration::minutes(settings.waitlist.offer_minutes),
        texts: settings
            .sms
            .enabled()
            .then(|| settings.sms.default_region.clone()),
    }
}

impl AppState {
    /// Wakes this process's outbox workers after a change: its mail, texts, and the webhook
    /// deliveries any audited change may have written.
    pub(crate) fn wake_mail_worker(&self) {
        self.mail_wakeup.notify_one();
        self.webhook_wakeup.notify_one();
        self.texts_wakeup.notify_one();
    }

    /// Runs blocking database work on the blocking pool with a pooled connection.
    /// `f` may fail with any error that has an HTTP answer (a `ClinicError`, a diesel error, ...).
    pub(crate) async fn with_connection<T, E, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Into<ApiError>,
    {
        let pool = self.pool.clone();
        web::block(move || -> Result<T, ApiError> {
            let mut conn = pool.get()?;
            f(&mut conn).map_err(Into::into)
        })
        .await?
    }
}
