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
    /// Requests' turns at the pool, in the order they asked (see `PoolTurns`).
    pub pool_turns: PoolTurns,
}

/// Requests' turns at the database pool, handed out first come, first served.
///
/// r2d2 wakes a thread waiting for a connection when one comes back, but a thread that asks
/// in between takes it first, and the woken one waits again at the back: on a busy machine the
/// thread that just gave a connection back asks again at once and wins. At 32 connections
/// against PostgreSQL's 8 a few requests waited hundreds of milliseconds while the median took
/// 6 (issue 20). A fair semaphore of the pool's size in front of it keeps the order of arrival:
/// a request holding a turn finds a connection free, unless a background worker holds it.
#[derive(Debug, Clone)]
pub(crate) struct PoolTurns {
    turns: Arc<tokio::sync::Semaphore>,
    wait: std::time::Duration,
}

impl PoolTurns {
    /// `size` turns (the pool's size); a request waits at most `wait` for one, as for a
    /// connection.
    pub(crate) fn new(size: u32, wait: std::time::Duration) -> Self {
        Self {
            turns: Arc::new(tokio::sync::Semaphore::new(size.max(1) as usize)),
            wait,
        }
    }

    async fn take(&self) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
        match tokio::time::timeout(self.wait, self.turns.clone().acquire_owned()).await {
            Ok(Ok(turn)) => Ok(turn),
            Ok(Err(_closed)) => Err(ApiError::Unavailable("the database pool is closed".into())),
            Err(_elapsed) => Err(ApiError::Unavailable(
                "no database connection: timed out waiting for a turn".into(),
            )),
        }
    }
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
        let turn = self.pool_turns.take().await?;
        web::block(move || -> Result<T, ApiError> {
            // Given back when the work is done, even if the request was dropped meanwhile.
            let _turn = turn;
            let mut conn = pool.get()?;
            f(&mut conn).map_err(Into::into)
        })
        .await?
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::PoolTurns;
    use crate::error::ApiError;

    /// Requests that wait for a turn get it in the order they asked; one that asks when a turn
    /// comes back queues behind them.
    #[tokio::test]
    async fn turns_go_in_the_order_asked() {
        let turns = PoolTurns::new(1, Duration::from_secs(5));
        let held = turns.take().await.expect("a free turn");
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut waiting = Vec::new();
        for request in 0..4 {
            let (turns, order) = (turns.clone(), order.clone());
            waiting.push(tokio::spawn(async move {
                let turn = turns.take().await.expect("a turn");
                order.lock().expect("order").push(request);
                // Each holds its turn a moment, as a query does, and gives it back.
                tokio::task::yield_now().await;
                drop(turn);
            }));
            // The request is queued before the next one asks.
            tokio::task::yield_now().await;
        }
        // The turn comes back, and a new request asks at once: it does not go first.
        drop(held);
        let (late_turns, late_order) = (turns.clone(), order.clone());
        waiting.push(tokio::spawn(async move {
            let _turn = late_turns.take().await.expect("a turn");
            late_order.lock().expect("order").push(99);
        }));
        for request in waiting {
            request.await.expect("request task");
        }
        assert_eq!(*order.lock().expect("order"), vec![0, 1, 2, 3, 99]);
    }

    /// A request that finds no turn within the pool's wait is answered 503, as one that finds
    /// no connection is.
    #[tokio::test]
    async fn no_turn_within_the_wait_is_unavailable() {
        let turns = PoolTurns::new(1, Duration::from_millis(20));
        let _held = turns.take().await.expect("a free turn");
        let refused = turns.take().await.expect_err("no turn is free");
        assert!(matches!(refused, ApiError::Unavailable(_)), "{refused:?}");
    }
}
