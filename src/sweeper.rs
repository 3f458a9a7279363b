//! The waitlist's sweeper: every `waitlist.sweep_interval_ms` it passes on the time of holds and
//! offers that ran out (`clinic::waitlist::sweep`). Nothing depends on it for correctness (an
//! expired hold keeps nothing, and an expired offer cannot be taken); it makes sure the next
//! patient on the waitlist hears about the time. Copies of the app may sweep at once: each hold
//! is passed on by exactly one of them.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};

use crate::clinic::rules::BookingPolicy;
use crate::clinic::waitlist;
use crate::db::{self, Pool};

pub(crate) async fn run(
    pool: Pool,
    policy: Arc<BookingPolicy>,
    every: Duration,
    mail_wakeup: Arc<Notify>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !*stopped.borrow() {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stopped.changed() => break,
        }
        let pool = pool.clone();
        let policy = policy.clone();
        let swept = tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
            let mut conn = pool.get()?;
            let (swept, failed) = waitlist::sweep(&mut conn, &policy, db::now())
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            // One hold that fails (it is tried again next time) holds up no other.
            if let Some(e) = failed {
                tracing::warn!(error = %e, "a hold that ran out could not be passed on");
            }
            Ok(swept)
        })
        .await;
        match swept {
            Ok(Ok(0)) => {}
            Ok(Ok(count)) => {
                tracing::debug!(count, "passed on the time of holds that ran out");
                mail_wakeup.notify_one();
            }
            Ok(Err(e)) => tracing::warn!(error = format!("{e:#}"), "waitlist sweep failed"),
            Err(e) => tracing::warn!(error = %e, "waitlist sweep task failed"),
        }
    }
}
