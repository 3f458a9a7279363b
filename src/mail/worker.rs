//! The outbox worker: claims due mail jobs, renders and sends them, and records the outcome.
//! Delivery is at-least-once: a job is marked sent only after the transport accepted it, so a
//! crash between the two sends that one job again, and nothing is ever lost. The copy sent again
//! carries the same `Message-ID` (see `render`), so the recipient's mail system can drop it; and
//! the gap between the two is kept short: the outcome is written on a database connection held
//! through the send, the moment the transport answers.

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::{Duration, Utc};
use futures::StreamExt;
use rand::Rng;
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};

use super::render::MailRenderer;
use super::Mailer;
use crate::clinic::{appointments, series, waitlist};
use crate::db::outbox::{self, MailKind, OutboxJob};
use crate::db::{self, ConnectionManager, DbConnection, Pool};
use crate::domain::booking::BookingReference;
use crate::metrics::Metrics;
use crate::settings::MailSettings;

pub struct MailWorker {
    pool: Pool,
    mailer: Mailer,
    renderer: Arc<MailRenderer>,
    settings: MailSettings,
    wakeup: Arc<Notify>,
    /// Identifies this worker's claims; a random part keeps copies of the app apart.
    name: String,
    metrics: Option<Arc<Metrics>>,
    /// How many sends may hold a pooled connection through the send (see [`Held`]): half the
    /// pool, so the worker never leaves the HTTP handlers fewer than the other half.
    holds: Arc<Semaphore>,
}

/// A connection taken from the pool.
type PooledConnection = diesel::r2d2::PooledConnection<ConnectionManager>;

/// The connection a message was rendered on, kept through its send to write the outcome the
/// moment the transport answers, with no wait for the pool (nor, on PostgreSQL, its liveness
/// check) in between; and the permit it is counted by.
struct Held {
    conn: PooledConnection,
    _permit: OwnedSemaphorePermit,
}

/// A rendered message, with its connection when one could be kept.
struct Ready {
    message: lettre::Message,
    held: Option<Held>,
}

/// What a claimed job turned out to need.
enum Prepared {
    Send(Box<Ready>),
    /// Nothing to send any more.
    Obsolete,
    /// The lease lapsed and another worker claimed the job.
    ClaimLost,
}

enum Outcome {
    Sent,
    /// Nothing to send any more (e.g. a reminder for a cancelled visit).
    Obsolete,
    Failed(String),
}

impl MailWorker {
    pub fn new(
        pool: Pool,
        mailer: Mailer,
        renderer: Arc<MailRenderer>,
        settings: MailSettings,
        wakeup: Arc<Notify>,
    ) -> Self {
        let id: u64 = rand::rng().random();
        Self {
            mailer,
            renderer,
            settings,
            wakeup,
            name: format!("mail-{id:016x}"),
            metrics: None,
            holds: Arc::new(Semaphore::new((pool.max_size() / 2) as usize)),
            pool,
        }
    }

    /// Counts deliveries and failures in `metrics`.
    pub(crate) fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Runs until `shutdown` turns true. The mails being sent then are finished; the rest of
    /// the batch is handed back to the queue at once, for another copy or the next start.
    pub async fn run(self, shutdown: watch::Receiver<bool>) {
        let poll = StdDuration::from_millis(self.settings.poll_interval_ms.max(10));
        let stop = shutdown.clone();
        crate::workers::run("mail", poll, &self.wakeup, shutdown, || {
            self.send_batch(Some(&stop))
        })
        .await;
    }

    /// Claims one batch of due jobs and delivers it; returns how many jobs it handled.
    pub async fn send_due_batch(&self) -> anyhow::Result<usize> {
        self.send_batch(None).await
    }

    async fn send_batch(&self, shutdown: Option<&watch::Receiver<bool>>) -> anyhow::Result<usize> {
        let concurrency = self.settings.worker_concurrency;
        let pool = self.pool.clone();
        let lease = Duration::seconds(self.settings.lease_seconds);
        let token = format!("{}-{:08x}", self.name, rand::rng().random::<u32>());
        let claim_token = token.clone();
        let claimed_at = Instant::now();
        let jobs = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<OutboxJob>> {
            let mut conn = pool.get()?;
            Ok(outbox::claim_due(
                &mut conn,
                db::now(),
                lease,
                (concurrency * 4) as i64,
                &claim_token,
            )?)
        })
        .await??;
        let handled = jobs.len();
        let stopping = || shutdown.is_some_and(|s| *s.borrow());
        let unstarted = std::sync::Mutex::new(Vec::new());
        futures::stream::iter(jobs)
            .for_each_concurrent(concurrency, |job| {
                let token = &token;
                let unstarted = &unstarted;
                async move {
                    if stopping() {
                        if let Ok(mut ids) = unstarted.lock() {
                            ids.push(job.id);
                        }
                    } else {
                        self.deliver(job, token, claimed_at).await;
                    }
                }
            })
            .await;
        let unstarted = unstarted.into_inner().unwrap_or_default();
        if !unstarted.is_empty() {
            let pool = self.pool.clone();
            let count = unstarted.len();
            let released = tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
                let mut conn = pool.get()?;
                Ok(outbox::release(&mut conn, &unstarted, &token)?)
            })
            .await?;
            match released {
                Ok(released) => tracing::info!(released, "mail worker handed back unsent jobs"),
                // Their lease runs out and they are claimed again: late, not lost.
                Err(e) => tracing::warn!(
                    count,
                    error = format!("{e:#}"),
                    "could not hand back unsent jobs"
                ),
            }
        }
        Ok(handled)
    }

    async fn deliver(&self, job: OutboxJob, token: &str, claimed_at: Instant) {
        let (outcome, held) = match self.prepare(&job, token, claimed_at).await {
            // A crash between the server's acceptance and the write that marks the job sent
            // sends the mail again. In between run only the hand-over to a blocking thread and
            // the write itself, on the connection held through the send.
            Ok(Prepared::Send(ready)) => {
                let Ready { message, held } = *ready;
                match self.mailer.send(message).await {
                    Ok(()) => (Outcome::Sent, held),
                    Err(e) => (Outcome::Failed(format!("send: {e}")), held),
                }
            }
            Ok(Prepared::Obsolete) => (Outcome::Obsolete, None),
            // Another worker holds the job now (this batch waited past its lease): it sends.
            Ok(Prepared::ClaimLost) => return,
            Err(e) => (Outcome::Failed(format!("render: {e:#}")), None),
        };
        if let Err(e) = self.record(&job, token, outcome, held).await {
            // The lease runs out and the job is tried again: sent twice at worst, never lost.
            tracing::warn!(
                job_id = job.id.get(),
                error = format!("{e:#}"),
                "could not record mail outcome"
            );
        }
    }

    /// Renews the job's lease for the send about to happen if a third of it has passed since the
    /// claim, then renders its message, which comes back with the connection used ([`Held`]) if
    /// the worker's share of the pool allows: the connection waits idle, outside any
    /// transaction, through the send.
    ///
    /// A batch is claimed under one lease but sent a few at a time; renewing keeps a slow mail
    /// server from letting a later job's lease lapse while it waits, which would let another
    /// worker send it too. Early in the lease no other worker can hold the job, and skipping
    /// the write spares SQLite's one write lock a transaction per mail.
    async fn prepare(
        &self,
        job: &OutboxJob,
        token: &str,
        claimed_at: Instant,
    ) -> anyhow::Result<Prepared> {
        let pool = self.pool.clone();
        let renderer = self.renderer.clone();
        let (id, booking_id, sequence) = (job.id, job.booking_id, job.sequence);
        let (entry_id, offer_id) = (job.waitlist_entry_id, job.waitlist_offer_id);
        let webhook = job.webhook_endpoint_id;
        let token = token.to_owned();
        let lease = Duration::seconds(self.settings.lease_seconds);
        let kind = job.kind;
        let holds = self.holds.clone();
        let renew = claimed_at.elapsed() * 3
            > StdDuration::from_secs(self.settings.lease_seconds.max(1) as u64);
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get()?;
            if renew && !outbox::renew_lease(&mut conn, id, &token, db::now() + lease)? {
                return Ok(Prepared::ClaimLost);
            }
            let message = match (booking_id, entry_id) {
                (Some(booking_id), _) => {
                    let reference = crate::db::bookings::find_by_id(&mut conn, booking_id)?
                        .and_then(|b| BookingReference::parse(&b.reference))
                        .ok_or_else(|| anyhow::anyhow!("booking {booking_id} not found"))?;
                    let details = appointments::load(&mut conn, &reference)
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    let series = match kind {
                        MailKind::Confirmation => series::visits_with(&mut conn, &details)
                            .map_err(|e| anyhow::anyhow!("{e}"))?,
                        _ => Vec::new(),
                    };
                    renderer.render(id, kind, sequence, &details, &series, Utc::now())?
                }
                (None, Some(entry_id)) => {
                    let mail = waitlist::mail_details(&mut conn, entry_id, offer_id)
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    renderer.render_waitlist(id, kind, &mail, Utc::now())?
                }
                (None, None) => match webhook {
                    Some(endpoint) => {
                        let endpoint = crate::db::webhooks::find_endpoint(&mut conn, endpoint)?
                            .ok_or_else(|| anyhow::anyhow!("webhook {endpoint} not found"))?;
                        let admins = crate::db::users::active_admin_emails(&mut conn)?;
                        renderer.render_webhook_disabled(id, &endpoint, &admins)?
                    }
                    None => anyhow::bail!("mail job {id} is about nothing"),
                },
            };
            Ok(message.map_or(Prepared::Obsolete, |message| {
                let held = holds.try_acquire_owned().ok().map(|permit| Held {
                    conn,
                    _permit: permit,
                });
                Prepared::Send(Box::new(Ready { message, held }))
            }))
        })
        .await?
    }

    /// Writes the outcome on `held` (the connection the message was rendered on) or, without
    /// one, on a connection from the pool; metrics and logs come after the write.
    async fn record(
        &self,
        job: &OutboxJob,
        token: &str,
        outcome: Outcome,
        held: Option<Held>,
    ) -> anyhow::Result<()> {
        let pool = self.pool.clone();
        let token = token.to_owned();
        let (id, attempts, kind) = (job.id, job.attempts, job.kind.as_str());
        let retry_at = match outcome {
            Outcome::Failed(_) => self.retry_at(attempts),
            Outcome::Sent | Outcome::Obsolete => None,
        };
        let metrics = self.metrics.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            let now = db::now();
            match outcome {
                Outcome::Sent | Outcome::Obsolete => {
                    let delivered = matches!(outcome, Outcome::Sent);
                    let marked =
                        write_outcome(&pool, held, |conn| outbox::mark_sent(conn, id, &token, now));
                    if let (true, Some(metrics)) = (delivered, &metrics) {
                        metrics.mail_sent();
                    }
                    if marked? {
                        tracing::info!(job_id = id.get(), kind, attempts, "mail delivered");
                    } else {
                        // Its lease ran out first and another worker claimed the job, which may
                        // send it too (under the same Message-ID).
                        tracing::warn!(
                            job_id = id.get(),
                            kind,
                            attempts,
                            "mail job finished after its claim lapsed"
                        );
                    }
                }
                Outcome::Failed(error) => {
                    let error: String = error.chars().take(1000).collect();
                    let marked = write_outcome(&pool, held, |conn| {
                        outbox::mark_attempt_failed(conn, id, &token, &error, retry_at, now)
                    });
                    if let Some(metrics) = &metrics {
                        metrics.mail_attempt_failed(retry_at.is_none());
                    }
                    marked?;
                    // The error text can quote an address; the log gets the job only.
                    match retry_at {
                        Some(at) => tracing::warn!(job_id = id.get(), kind, attempts, retry_at = %at, "mail not delivered; will retry"),
                        None => tracing::error!(job_id = id.get(), kind, attempts, "mail not delivered; parked as failed"),
                    }
                }
            }
            Ok(())
        })
        .await?
    }

    /// When to try again after `attempts` attempts (`workers::Backoff`); `None` once they are
    /// used up.
    fn retry_at(&self, attempts: i32) -> Option<chrono::NaiveDateTime> {
        crate::workers::Backoff {
            max_attempts: self.settings.max_attempts,
            base_seconds: self.settings.retry_base_seconds,
            max_seconds: self.settings.retry_max_seconds,
        }
        .retry_at(attempts, db::now())
    }
}

/// Runs `write` on `held`, the connection kept through the send, or on one from the pool when
/// there is none or the held one failed (its server may have gone away during a long send, or
/// SQLite stayed busy): one more try now rather than a duplicate after the lease.
fn write_outcome<T>(
    pool: &Pool,
    held: Option<Held>,
    write: impl Fn(&mut DbConnection) -> diesel::QueryResult<T>,
) -> anyhow::Result<T> {
    if let Some(mut held) = held {
        let written = write(&mut held.conn);
        // Back to the pool (or, broken, out of it) before another is taken.
        drop(held);
        match written {
            Ok(done) => return Ok(done),
            Err(e) => {
                tracing::debug!(error = %e, "mail outcome not written; trying a new connection")
            }
        }
    }
    let mut conn = pool.get()?;
    Ok(write(&mut conn)?)
}
