//! What the outbox workers (mail, webhooks, texts) share: the loop that claims a batch, sleeps
//! when there was nothing until woken, polled or told to stop, and backs off after an error; and
//! the backoff between a job's attempts.

use std::future::Future;
use std::time::Duration as StdDuration;

use chrono::{Duration, NaiveDateTime};
use rand::Rng;
use tokio::sync::{watch, Notify};

/// Runs `batch` until `shutdown` turns true: again at once after a batch that handled jobs,
/// after `poll` (or a `wakeup`) after an empty one or an error. `what` names the worker in the
/// log.
pub(crate) async fn run<F, Fut>(
    what: &'static str,
    poll: StdDuration,
    wakeup: &Notify,
    mut shutdown: watch::Receiver<bool>,
    mut batch: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<usize>>,
{
    while !*shutdown.borrow() {
        match batch().await {
            Ok(0) => {
                tokio::select! {
                    _ = wakeup.notified() => {}
                    _ = tokio::time::sleep(poll) => {}
                    _ = shutdown.changed() => {}
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(
                    worker = what,
                    error = format!("{e:#}"),
                    "could not claim jobs"
                );
                tokio::select! {
                    _ = tokio::time::sleep(poll) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }
    tracing::info!(worker = what, "worker stopped");
}

/// How a worker retries: at most `max_attempts`, waiting from `base_seconds`, doubling up to
/// `max_seconds`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Backoff {
    pub max_attempts: i32,
    pub base_seconds: f64,
    pub max_seconds: f64,
}

impl Backoff {
    /// When to try again after `attempts` attempts: exponential from the base, capped, with
    /// jitter between half and all of it so a crowd of retries spreads out; `None` once the
    /// attempts are used up.
    pub(crate) fn retry_at(self, attempts: i32, now: NaiveDateTime) -> Option<NaiveDateTime> {
        if attempts >= self.max_attempts {
            return None;
        }
        let exponent = attempts.clamp(1, 30) - 1;
        let wait = (self.base_seconds * 2f64.powi(exponent)).min(self.max_seconds);
        let jittered = wait * rand::rng().random_range(0.5..=1.0);
        Some(now + Duration::milliseconds((jittered * 1000.0) as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_with_jitter_up_to_its_cap_and_stops_after_the_last_attempt() {
        let backoff = Backoff {
            max_attempts: 5,
            base_seconds: 10.0,
            max_seconds: 60.0,
        };
        let now = crate::db::now();
        for (attempts, full) in [(1, 10.0), (2, 20.0), (3, 40.0), (4, 60.0)] {
            let at = backoff.retry_at(attempts, now).expect("another try");
            let waited = (at - now).num_milliseconds() as f64 / 1000.0;
            assert!(
                waited >= full / 2.0 - 0.01 && waited <= full + 0.01,
                "{attempts}: {waited}"
            );
        }
        assert_eq!(backoff.retry_at(5, now), None);
    }
}
