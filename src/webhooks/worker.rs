//! The webhook worker: claims due deliveries, signs and sends them, and records each outcome.
//! At least once: a delivery is marked delivered only after a 2xx, so a crash in between sends
//! it again, under the same `webhook-id` for the receiver to drop. One subject's deliveries to
//! one endpoint go in order (`db::webhooks::claim_due` holds back any behind a pending one).
//! A failure waits exponentially longer, with jitter, up to `max_attempts`, then is parked as
//! failed for an admin to retry; `410 Gone` turns the endpoint off at once, and so does a day of
//! nothing but failures (the admins are mailed).

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{Duration, NaiveDateTime, Utc};
use futures::StreamExt;
use rand::Rng;
use serde_json::Value;
use tokio::sync::{watch, Notify};

use crate::clinic::webhooks as events;
use crate::db::webhooks::{self as stored, Delivery, Endpoint};
use crate::db::{self, write_transaction, Pool};
use crate::domain::webhook::WebhookSecret;
use crate::settings::WebhookSettings;

pub struct WebhookWorker {
    pool: Pool,
    client: reqwest::Client,
    settings: WebhookSettings,
    wakeup: Arc<Notify>,
    /// Woken when an endpoint is turned off: the admins' mail is due.
    mail_wakeup: Arc<Notify>,
    name: String,
}

/// What an attempt came to.
enum Outcome {
    /// A 2xx, with its status.
    Delivered(u16),
    /// 410: the receiver wants no more.
    Gone,
    /// Anything else: the status if there was an answer, and what went wrong.
    Failed(Option<u16>, String),
}

impl WebhookWorker {
    pub fn new(
        pool: Pool,
        settings: WebhookSettings,
        wakeup: Arc<Notify>,
        mail_wakeup: Arc<Notify>,
    ) -> anyhow::Result<Self> {
        let id: u64 = rand::rng().random();
        Ok(Self {
            client: super::client(&settings)?,
            pool,
            settings,
            wakeup,
            mail_wakeup,
            name: format!("webhooks-{id:016x}"),
        })
    }

    /// Runs until `shutdown` turns true; deliveries in flight then finish, the rest of the batch
    /// goes back to the queue.
    pub async fn run(self, shutdown: watch::Receiver<bool>) {
        let poll = StdDuration::from_millis(self.settings.poll_interval_ms);
        let stop = shutdown.clone();
        crate::workers::run("webhooks", poll, &self.wakeup, shutdown, || {
            self.batch(Some(&stop))
        })
        .await;
    }

    /// Claims one batch of due deliveries and sends it; how many it handled.
    pub async fn deliver_due_batch(&self) -> anyhow::Result<usize> {
        self.batch(None).await
    }

    async fn batch(&self, shutdown: Option<&watch::Receiver<bool>>) -> anyhow::Result<usize> {
        let concurrency = self.settings.concurrency;
        // Long enough for the batch: four rounds of `concurrency` requests, each within its
        // deadline.
        let lease = Duration::seconds(self.settings.timeout_seconds as i64 * 4 + 30);
        let token = format!("{}-{:08x}", self.name, rand::rng().random::<u32>());
        let pool = self.pool.clone();
        let claim = token.clone();
        let claimed = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let mut conn = pool.get()?;
            Ok(stored::claim_due(
                &mut conn,
                db::now(),
                lease,
                (concurrency * 4) as i64,
                &claim,
            )?)
        })
        .await??;
        let handled = claimed.len();
        let stopping = || shutdown.is_some_and(|s| *s.borrow());
        let unstarted = std::sync::Mutex::new(Vec::new());
        futures::stream::iter(claimed)
            .for_each_concurrent(concurrency, |(delivery, endpoint)| {
                let (token, unstarted) = (&token, &unstarted);
                async move {
                    if stopping() {
                        if let Ok(mut ids) = unstarted.lock() {
                            ids.push(delivery.id);
                        }
                    } else {
                        self.deliver(delivery, endpoint, token).await;
                    }
                }
            })
            .await;
        let unstarted = unstarted.into_inner().unwrap_or_default();
        if !unstarted.is_empty() {
            let pool = self.pool.clone();
            tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
                let mut conn = pool.get()?;
                Ok(stored::release(&mut conn, &unstarted, &token)?)
            })
            .await??;
        }
        Ok(handled)
    }

    async fn deliver(&self, delivery: Delivery, endpoint: Endpoint, token: &str) {
        let outcome = match self.body(&delivery, &endpoint).await {
            Ok(body) => self.send(&delivery, &endpoint, &body).await,
            Err(e) => Outcome::Failed(None, format!("could not build the payload: {e:#}")),
        };
        if let Err(e) = self.record(&delivery, &endpoint, token, outcome).await {
            // The lease runs out and the delivery is tried again: twice at worst, never lost.
            tracing::warn!(
                delivery_id = delivery.id.get(),
                error = format!("{e:#}"),
                "could not record a webhook outcome"
            );
        }
    }

    /// The payload as stored, with the patient's contact added for an endpoint that takes it.
    async fn body(&self, delivery: &Delivery, endpoint: &Endpoint) -> anyhow::Result<String> {
        let (Some(booking), true) = (delivery.booking_id, endpoint.include_patient_data) else {
            return Ok(delivery.payload.clone());
        };
        let pool = self.pool.clone();
        let patient = tokio::task::spawn_blocking(move || -> anyhow::Result<Option<Value>> {
            let mut conn = pool.get()?;
            Ok(events::patient_of(&mut conn, booking)?)
        })
        .await??;
        let mut payload: Value = serde_json::from_str(&delivery.payload)?;
        payload["data"]["patient"] = patient.unwrap_or(Value::Null);
        Ok(payload.to_string())
    }

    /// Signs and posts the message (with the previous secret too while it overlaps).
    async fn send(&self, delivery: &Delivery, endpoint: &Endpoint, body: &str) -> Outcome {
        if super::literal_refused(&endpoint.url, self.settings.allow_private_targets) {
            return Outcome::Failed(None, "refused: the url is not a public address".into());
        }
        let Some(secret) = WebhookSecret::from_stored(&endpoint.secret) else {
            return Outcome::Failed(None, "the endpoint's secret is unreadable".into());
        };
        let timestamp = Utc::now().timestamp();
        let mut signatures = vec![secret.sign(&delivery.message_id, timestamp, body)];
        let previous = endpoint
            .previous_secret
            .as_deref()
            .filter(|_| {
                endpoint
                    .previous_secret_until
                    .is_some_and(|t| t > db::now())
            })
            .and_then(WebhookSecret::from_stored);
        if let Some(previous) = previous {
            signatures.push(previous.sign(&delivery.message_id, timestamp, body));
        }
        let sent = self
            .client
            .post(&endpoint.url)
            .header("content-type", "application/json")
            .header("webhook-id", &delivery.message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signatures.join(" "))
            .body(body.to_owned())
            .send()
            .await;
        match sent {
            Ok(response) => {
                let status = response.status();
                if status.is_success() {
                    Outcome::Delivered(status.as_u16())
                } else if status == reqwest::StatusCode::GONE {
                    Outcome::Gone
                } else {
                    Outcome::Failed(
                        Some(status.as_u16()),
                        format!("the receiver answered {status}"),
                    )
                }
            }
            Err(e) if e.is_timeout() => Outcome::Failed(
                None,
                format!("no answer within {} s", self.settings.timeout_seconds),
            ),
            Err(e) if e.is_connect() => {
                Outcome::Failed(None, format!("could not connect: {}", root_cause(&e)))
            }
            Err(e) => Outcome::Failed(None, format!("request failed: {}", root_cause(&e))),
        }
    }

    /// When a failed delivery goes again (`workers::Backoff`); none after the last attempt.
    fn retry_at(&self, attempts: i32, now: NaiveDateTime) -> Option<NaiveDateTime> {
        crate::workers::Backoff {
            max_attempts: self.settings.max_attempts,
            base_seconds: self.settings.retry_base_seconds,
            max_seconds: self.settings.retry_max_seconds,
        }
        .retry_at(attempts, now)
    }

    async fn record(
        &self,
        delivery: &Delivery,
        endpoint: &Endpoint,
        token: &str,
        outcome: Outcome,
    ) -> anyhow::Result<()> {
        let pool = self.pool.clone();
        let (id, endpoint_id, attempts) = (delivery.id, endpoint.id, delivery.attempts);
        let token = token.to_owned();
        let now = db::now();
        let retry_at = self.retry_at(attempts, now);
        let disable_after = Duration::hours(self.settings.disable_after_hours);
        let disable_hours = self.settings.disable_after_hours;
        let kind = delivery.event_type.clone();
        let label = match &outcome {
            Outcome::Delivered(code) => format!("delivered ({code})"),
            Outcome::Gone => "gone (410): endpoint turned off".to_owned(),
            Outcome::Failed(code, _) => match (code, retry_at) {
                (Some(code), Some(_)) => format!("failed ({code}); will retry"),
                (None, Some(_)) => "failed (no answer); will retry".to_owned(),
                (_, None) => "failed; parked after the last attempt".to_owned(),
            },
        };
        let disabled = tokio::task::spawn_blocking(move || -> anyhow::Result<bool> {
            let mut conn = pool.get()?;
            let disabled = write_transaction(&mut conn, |conn| {
                let mut disabled = false;
                match &outcome {
                    Outcome::Delivered(code) => {
                        stored::finish(conn, id, &token, Ok(i32::from(*code)), now)?;
                        stored::note_success(conn, endpoint_id)?;
                    }
                    Outcome::Gone => {
                        let error = "the receiver answered 410 Gone: endpoint turned off";
                        stored::finish(conn, id, &token, Err((Some(410), error, None)), now)?;
                        disabled = events::disable(
                            conn,
                            endpoint_id,
                            "the receiver answered 410 Gone",
                            true,
                            now,
                        )?;
                    }
                    Outcome::Failed(code, error) => {
                        let error: String = error.chars().take(500).collect();
                        let code = code.map(i32::from);
                        stored::finish(conn, id, &token, Err((code, &error, retry_at)), now)?;
                        let since = stored::note_failure(conn, endpoint_id, now)?;
                        if since.is_some_and(|s| now - s >= disable_after) {
                            let reason = format!("every delivery failed for {disable_hours} hours");
                            disabled = events::disable(conn, endpoint_id, &reason, true, now)?;
                        }
                    }
                }
                Ok::<_, anyhow::Error>(disabled)
            })?;
            Ok(disabled)
        })
        .await??;
        // The log names the delivery and the event, never the URL (it may carry a token) nor
        // the payload (it may carry patient data).
        tracing::info!(
            delivery_id = id.get(),
            endpoint_id = endpoint_id.get(),
            event = kind,
            attempts,
            outcome = label.as_str(),
            disabled,
            "webhook attempt"
        );
        if disabled {
            self.mail_wakeup.notify_one();
        }
        Ok(())
    }
}

/// The innermost error of a request's failure (reqwest's own message names the URL).
fn root_cause(error: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = error;
    while let Some(next) = source.source() {
        source = next;
    }
    source.to_string()
}
