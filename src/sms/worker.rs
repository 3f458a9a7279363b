//! The text worker: claims due texts, writes each from its booking as it stands, sends it, and
//! records the outcome. At least once, like mail: a text is marked sent only after the provider
//! accepted it. A text that no longer applies (a reminder for a cancelled or past visit, a
//! confirmation of a cancelled one) is dropped unsent.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{Duration, NaiveDateTime, Utc};
use chrono_tz::Tz;
use futures::StreamExt;
use rand::Rng;
use tokio::sync::{watch, Notify};

use super::{Sent, Twilio};
use crate::auth::jwt::TokenKeys;
use crate::clinic::appointments::{self, BookingDetails};
use crate::db::texts::{self, TextJob, TextKind, TextOutcome};
use crate::db::{self, Pool};
use crate::domain::booking::{BookingReference, BookingStatus};
use crate::domain::language::Language;
use crate::settings::{MailSettings, Settings};

/// Texts claimed at once, and sent at once of those.
const BATCH: usize = 16;
const CONCURRENT: usize = 4;

/// The texts, one template each (minijinja, no escaping: plain text).
const TEMPLATES: [(&str, &str); 8] = [
    ("confirmation", include_str!("templates/confirmation.txt")),
    ("reminder", include_str!("templates/reminder.txt")),
    ("change", include_str!("templates/change.txt")),
    ("cancellation", include_str!("templates/cancellation.txt")),
    (
        "es/confirmation",
        include_str!("templates/es/confirmation.txt"),
    ),
    ("es/reminder", include_str!("templates/es/reminder.txt")),
    ("es/change", include_str!("templates/es/change.txt")),
    (
        "es/cancellation",
        include_str!("templates/es/cancellation.txt"),
    ),
];

pub struct TextWorker {
    templates: minijinja::Environment<'static>,
    pool: Pool,
    provider: Twilio,
    tokens: TokenKeys,
    /// Retries and polling as mail's (`[mail]`).
    retries: MailSettings,
    clinic_name: String,
    clinic_phone: String,
    public_base_url: String,
    wakeup: Arc<Notify>,
    name: String,
}

/// What a claimed text came to.
enum Outcome {
    Sent(Option<String>),
    Obsolete,
    Retry(String),
    Failed(String),
}

impl TextWorker {
    /// `None` when the clinic sends no texts.
    pub fn new(
        pool: Pool,
        settings: &Settings,
        tokens: TokenKeys,
        wakeup: Arc<Notify>,
    ) -> anyhow::Result<Option<Self>> {
        if !settings.sms.enabled() {
            return Ok(None);
        }
        let id: u64 = rand::rng().random();
        let mut templates = minijinja::Environment::new();
        // A missing value is an error, not a gap in a patient's text.
        templates.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        for (name, source) in TEMPLATES {
            templates.add_template(name, source)?;
        }
        Ok(Some(Self {
            templates,
            pool,
            provider: Twilio::new(&settings.sms)?,
            tokens,
            retries: settings.mail.clone(),
            clinic_name: settings.clinic.name.clone(),
            clinic_phone: settings.clinic.phone.clone(),
            public_base_url: settings
                .clinic
                .public_base_url
                .trim_end_matches('/')
                .to_owned(),
            wakeup,
            name: format!("texts-{id:016x}"),
        }))
    }

    pub async fn run(self, shutdown: watch::Receiver<bool>) {
        let poll = StdDuration::from_millis(self.retries.poll_interval_ms.max(10));
        crate::workers::run("texts", poll, &self.wakeup, shutdown, || self.batch()).await;
    }

    async fn batch(&self) -> anyhow::Result<usize> {
        let pool = self.pool.clone();
        let token = format!("{}-{:08x}", self.name, rand::rng().random::<u32>());
        let claim = token.clone();
        // Long enough for the whole batch: its rounds of sends, each within the provider's
        // deadline, and a margin; no other worker may take a text while this one sends it.
        let rounds = (BATCH / CONCURRENT) as i64;
        let lease = Duration::seconds(
            self.retries
                .lease_seconds
                .max(rounds * super::SEND_TIMEOUT_SECONDS as i64 + 60),
        );
        let jobs = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<TextJob>> {
            let mut conn = pool.get()?;
            Ok(texts::claim_due(
                &mut conn,
                db::now(),
                lease,
                BATCH as i64,
                &claim,
            )?)
        })
        .await??;
        let handled = jobs.len();
        futures::stream::iter(jobs)
            .for_each_concurrent(CONCURRENT, |job| {
                let token = &token;
                async move { self.deliver(job, token).await }
            })
            .await;
        Ok(handled)
    }

    async fn deliver(&self, job: TextJob, token: &str) {
        let outcome = match self.write(&job).await {
            Ok(Some(body)) => match self.provider.send(&job.to_number, &body).await {
                Sent::Accepted(sid) => Outcome::Sent(sid),
                Sent::Retry(error) => Outcome::Retry(error),
                Sent::Refused(error) => Outcome::Failed(error),
            },
            Ok(None) => Outcome::Obsolete,
            Err(e) => Outcome::Retry(format!("could not write the text: {e:#}")),
        };
        let retry_at = self.retry_at(job.attempts, db::now());
        let pool = self.pool.clone();
        let (id, kind, attempts) = (job.id, job.kind.clone(), job.attempts);
        let token = token.to_owned();
        let label = match &outcome {
            Outcome::Sent(_) => "sent",
            Outcome::Obsolete => "no longer applies",
            Outcome::Retry(_) if retry_at.is_some() => "not sent; will retry",
            Outcome::Retry(_) | Outcome::Failed(_) => "not sent; parked as failed",
        };
        let recorded = tokio::task::spawn_blocking(move || -> anyhow::Result<bool> {
            let mut conn = pool.get()?;
            let now = db::now();
            let outcome = match &outcome {
                Outcome::Sent(sid) => TextOutcome::Sent(sid.as_deref()),
                Outcome::Obsolete => TextOutcome::Skipped,
                Outcome::Retry(error) => TextOutcome::NotSent(error, retry_at),
                Outcome::Failed(error) => TextOutcome::NotSent(error, None),
            };
            Ok(texts::finish(&mut conn, id, &token, outcome, now)?)
        })
        .await;
        // The log names the job, never the number or the text.
        match recorded {
            Ok(Ok(true)) => tracing::info!(text_id = id, kind, attempts, outcome = label, "text"),
            // Its lease ran out first and another worker holds it now (and may send it too).
            Ok(Ok(false)) => tracing::warn!(
                text_id = id,
                kind,
                attempts,
                outcome = label,
                "text finished after its claim lapsed"
            ),
            Ok(Err(e)) => tracing::warn!(
                text_id = id,
                error = format!("{e:#}"),
                "could not record a text's outcome"
            ),
            Err(e) => tracing::warn!(text_id = id, error = %e, "could not record a text's outcome"),
        }
    }

    fn retry_at(&self, attempts: i32, now: NaiveDateTime) -> Option<NaiveDateTime> {
        crate::workers::Backoff {
            max_attempts: self.retries.max_attempts,
            base_seconds: self.retries.retry_base_seconds,
            max_seconds: self.retries.retry_max_seconds,
        }
        .retry_at(attempts, now)
    }

    /// The text of `job` from its booking as it is now; `None` when it no longer applies.
    async fn write(&self, job: &TextJob) -> anyhow::Result<Option<String>> {
        let pool = self.pool.clone();
        let booking_id = job.booking_id;
        let details = tokio::task::spawn_blocking(move || -> anyhow::Result<BookingDetails> {
            let mut conn = pool.get()?;
            let reference = db::bookings::find_by_id(&mut conn, booking_id)?
                .and_then(|b| BookingReference::parse(&b.reference))
                .ok_or_else(|| anyhow::anyhow!("booking {booking_id} not found"))?;
            appointments::load(&mut conn, &reference).map_err(|e| anyhow::anyhow!("{e}"))
        })
        .await??;
        let kind = TextKind::parse(&job.kind)
            .ok_or_else(|| anyhow::anyhow!("unknown text kind {}", job.kind))?;
        let status = details.booking.status;
        let start = details.slot.starts_at.and_utc();
        let obsolete = match kind {
            TextKind::Reminder => status != BookingStatus::Booked || start <= Utc::now(),
            TextKind::Confirmation | TextKind::Change => status == BookingStatus::Cancelled,
            TextKind::Cancellation => false,
        };
        if obsolete {
            return Ok(None);
        }
        let tz: Tz = details.location.timezone.tz();
        let language = details.booking.language;
        // Short, as texts are: "Tue Dec 22, 9:30 AM" / "mar 22 dic, 9:30 a. m.".
        let format = match language {
            Language::En => "%a %b %-d, %-I:%M %p",
            Language::Es => "%a %-d %b, %-I:%M %p",
        };
        let when = start
            .with_timezone(&tz)
            .format_localized(format, language.locale());
        let name = match language {
            Language::En => kind.as_str().to_owned(),
            Language::Es => format!("es/{}", kind.as_str()),
        };
        let provider = &details.provider.name;
        let place = &details.location.name;
        let reference = BookingReference::parse(&details.booking.reference)
            .ok_or_else(|| anyhow::anyhow!("stored booking reference is malformed"))?;
        // A short link (`/m/…`): a full manage token would take the text to three messages.
        let manage = format!(
            "{}/m/{}",
            self.public_base_url,
            self.tokens.manage_link_code(&reference)
        );
        let text = self
            .templates
            .get_template(&name)?
            .render(minijinja::context! {
                clinic => &self.clinic_name,
                clinic_phone => &self.clinic_phone,
                when => when.to_string(),
                provider => provider,
                place => place,
                reference => reference.as_str(),
                manage_url => manage,
                booking_url => format!("{}/book", self.public_base_url),
            })?;
        Ok(Some(text.trim().to_owned()))
    }
}
