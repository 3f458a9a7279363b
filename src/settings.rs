//! Settings: `config/default.toml` (also compiled in, so the binary runs from any directory),
//! then `config/{APP_ENV}.toml`, then `APP__SECTION__KEY` environment variables.

use std::path::Path;

use chrono_tz::Tz;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::domain::rules::BookingRules;

const DEFAULT_TOML: &str = include_str!("../config/default.toml");
const PRODUCTION_TOML: &str = include_str!("../config/production.toml");
const DEVELOPMENT_JWT_SECRET: &str = "insecure-development-secret-change-me-in-production";

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub clinic: ClinicSettings,
    pub booking: BookingSettings,
    pub cta: CtaSettings,
    pub demo: DemoSettings,
    pub mail: MailSettings,
    pub http: HttpSettings,
    #[serde(default)]
    pub metrics: MetricsSettings,
    #[serde(default)]
    pub waitlist: WaitlistSettings,
    #[serde(default)]
    pub webhooks: WebhookSettings,
    #[serde(default)]
    pub calendar: CalendarSettings,
    #[serde(default)]
    pub sms: SmsSettings,
    #[serde(default)]
    pub privacy: PrivacySettings,
    /// `default` or `production` (from `APP_ENV`).
    #[serde(default = "default_environment")]
    pub environment: String,
}

fn default_environment() -> String {
    "default".into()
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    #[serde(default)]
    pub workers: usize,
    /// After SIGTERM/SIGINT: how long requests in flight and the mail job in hand may take
    /// before the process exits anyway.
    #[serde(default = "default_shutdown_timeout_seconds")]
    pub shutdown_timeout_seconds: u64,
    /// After SIGTERM/SIGINT: how long the copy serves on, with `/health/ready` answering 503 so
    /// load balancers take it out, before it stops accepting; 0 stops accepting at once.
    #[serde(default)]
    pub drain_seconds: u64,
}

/// The longest `booking.policy_text` (the API documents the same bound).
pub(crate) const MAX_POLICY_TEXT_CHARS: usize = 1000;

/// The longest drain `server.drain_seconds` may ask for.
const MAX_DRAIN_SECONDS: u64 = 300;

fn default_shutdown_timeout_seconds() -> u64 {
    30
}

/// The waitlist (`[waitlist]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct WaitlistSettings {
    /// How many minutes an offer of freed time is held for the patient it goes to (1 to 1440).
    pub offer_minutes: i64,
    /// How often the server looks for holds and offers that ran out, to pass their time to the
    /// next entry, in milliseconds (100 to 60000).
    pub sweep_interval_ms: u64,
}

impl Default for WaitlistSettings {
    fn default() -> Self {
        Self {
            offer_minutes: 15,
            sweep_interval_ms: 2000,
        }
    }
}

/// Text messages (`[sms]`): off unless a provider is named.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct SmsSettings {
    /// `twilio` (Twilio's Messages API, or any provider that speaks it at `base_url`), or empty:
    /// no text is sent, and none is queued.
    pub provider: String,
    pub account_sid: String,
    pub auth_token: SecretString,
    /// The sending number, in E.164 (`+16025550100`).
    pub from_number: String,
    /// Where the Messages API is: Twilio's, a compatible provider's, or a test server.
    pub base_url: String,
    /// The country a number without `+` is read in (ISO 3166 alpha-2): the clinic's.
    pub default_region: String,
}

impl Default for SmsSettings {
    fn default() -> Self {
        Self {
            provider: String::new(),
            account_sid: String::new(),
            auth_token: SecretString::from(String::new()),
            from_number: String::new(),
            base_url: "https://api.twilio.com".into(),
            default_region: "US".into(),
        }
    }
}

impl SmsSettings {
    /// Whether texts are sent (and queued) at all.
    pub fn enabled(&self) -> bool {
        self.provider == "twilio"
    }
}

/// Patients' privacy (`[privacy]`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PrivacySettings {
    /// Erase patients with no visit (and no booking made) in this many days; the server checks
    /// daily, `clinic-booking erase-inactive` on demand. 0: never (the default).
    pub retention_days: u32,
}

/// Providers' calendar subscriptions (`[calendar]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct CalendarSettings {
    /// Whether a feed's events name the patient (a provider's calendar app may sync to places
    /// the clinic does not control). Off: the visit type and booking reference only.
    pub include_patient_names: bool,
    /// How many days back a feed reaches (0 to 90): the week's visits stay in view.
    pub past_days: i64,
}

impl Default for CalendarSettings {
    fn default() -> Self {
        Self {
            include_patient_names: false,
            past_days: 7,
        }
    }
}

/// Webhook deliveries (`[webhooks]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct WebhookSettings {
    /// Let endpoints be on loopback, private, link-local or other internal addresses. Off in
    /// production: an admin account (or whoever took one) could otherwise make the server call
    /// into the clinic's own network. The tests turn it on for their local receivers.
    pub allow_private_targets: bool,
    /// Each delivery's whole request, connection included, in seconds (1 to 60).
    pub timeout_seconds: u64,
    /// Attempts before a delivery is parked as failed (1 to 50); the admin can retry it.
    pub max_attempts: i32,
    /// The wait after the first failure, in seconds; it doubles with each failure up to
    /// `retry_max_seconds`, with jitter.
    pub retry_base_seconds: f64,
    pub retry_max_seconds: f64,
    /// An endpoint that has failed every delivery for this many hours is disabled, and the admins
    /// are mailed (1 to 720).
    pub disable_after_hours: i64,
    /// How often the worker looks for due deliveries when nothing wakes it, in milliseconds.
    pub poll_interval_ms: u64,
    /// Deliveries in flight at once.
    pub concurrency: usize,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            allow_private_targets: false,
            timeout_seconds: 10,
            max_attempts: 12,
            retry_base_seconds: 10.0,
            retry_max_seconds: 3600.0,
            disable_after_hours: 24,
            poll_interval_ms: 1000,
            concurrency: 4,
        }
    }
}

/// Who may read `GET /metrics`.
#[derive(Debug, Clone, Deserialize)]
pub struct MetricsSettings {
    /// Off: `/metrics` answers 404.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// When set, scrapers send `Authorization: Bearer <token>`. When empty, only direct
    /// loopback peers are answered (a proxy in front marks its requests as forwarded).
    #[serde(default = "empty_secret")]
    pub token: SecretString,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            token: empty_secret(),
        }
    }
}

fn default_true() -> bool {
    true
}

fn empty_secret() -> SecretString {
    SecretString::from(String::new())
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    pub url: String,
    pub pool_size: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    pub jwt_secret: SecretString,
    pub manage_token_days_after_visit: i64,
    /// How long a staff login lasts.
    #[serde(default = "default_staff_token_minutes")]
    pub staff_token_minutes: i64,
}

/// How long a staff login lasts unless `auth.staff_token_minutes` says otherwise.
pub(crate) const DEFAULT_STAFF_TOKEN_MINUTES: i64 = 60;

fn default_staff_token_minutes() -> i64 {
    DEFAULT_STAFF_TOKEN_MINUTES
}

#[derive(Debug, Clone, Deserialize)]
pub struct ClinicSettings {
    pub name: String,
    pub address: String,
    pub phone: String,
    pub timezone: Tz,
    pub public_base_url: String,
    /// The old name of `booking.horizon_days`, still read when set (see `fold_renamed`).
    #[serde(default)]
    pub booking_horizon_days: Option<i64>,
}

/// The booking rules every way of booking goes through (`[booking]`).
#[derive(Debug, Clone, Deserialize)]
pub struct BookingSettings {
    /// How long before a visit starts it may still be booked (or a visit moved to it).
    pub min_notice_minutes: i64,
    /// How far ahead visits may be booked.
    pub horizon_days: i64,
    /// Until how long before a visit patients may cancel or move it online.
    pub cancel_cutoff_hours: i64,
    /// How many upcoming booked visits one email address may hold.
    pub max_active_per_email: u32,
    /// The clinic's words on these rules, shown before a patient books and in each refusal.
    pub policy_text: String,
    /// How long a time a patient picked is kept for them while they fill in the form.
    pub hold_minutes: i64,
}

/// The longest `booking.hold_minutes`: a hold is for filling in a form, not for keeping times.
const MAX_HOLD_MINUTES: i64 = 60;

/// `booking.horizon_days` unless set otherwise.
const DEFAULT_HORIZON_DAYS: i64 = 90;

impl BookingSettings {
    pub fn rules(&self) -> BookingRules {
        BookingRules {
            min_notice: chrono::Duration::minutes(self.min_notice_minutes),
            horizon: chrono::Duration::days(self.horizon_days),
            cancel_cutoff: chrono::Duration::hours(self.cancel_cutoff_hours),
            max_active_per_email: self.max_active_per_email,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct CtaSettings {
    pub headline: String,
    pub text: String,
    pub slot_count: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DemoSettings {
    pub seed: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HttpSettings {
    /// Comma-separated origins that browsers may call the API from (CORS).
    pub allowed_origins: String,
    /// Public POSTs per client address per minute; 0 turns the limit off.
    pub rate_limit_per_minute: u32,
    /// How long a free-slot list may be answered from memory; 0 turns the cache off.
    pub availability_cache_ms: u64,
    /// Comma-separated addresses or CIDR ranges of the reverse proxies in front, whose
    /// `X-Forwarded-For` names the client (for the rate limit).
    #[serde(default)]
    pub trusted_proxies: String,
}

impl HttpSettings {
    pub(crate) fn origins(&self) -> Vec<String> {
        self.allowed_origins
            .split(',')
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect()
    }

    /// The trusted proxies as networks (a single address is a /32 or /128).
    pub fn proxies(&self) -> anyhow::Result<Vec<ipnet::IpNet>> {
        self.trusted_proxies
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse::<ipnet::IpNet>()
                    .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        anyhow::anyhow!(
                            "http.trusted_proxies: `{p}` is not an address or a range like 10.0.0.0/8"
                        )
                    })
            })
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailTransportKind {
    File,
    Smtp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    None,
    Starttls,
    Tls,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MailSettings {
    pub transport: MailTransportKind,
    pub file_dir: String,
    pub from: String,
    pub smtp_host: String,
    pub smtp_port: u16,
    pub smtp_tls: SmtpTls,
    pub smtp_username: String,
    pub smtp_password: SecretString,
    pub smtp_timeout_seconds: u64,
    /// PEM certificates trusted for the SMTP server besides the public roots; empty: none.
    #[serde(default)]
    pub smtp_ca_file: String,
    pub reminder_hours_before: i64,
    pub worker_enabled: bool,
    pub worker_concurrency: usize,
    pub poll_interval_ms: u64,
    pub max_attempts: i32,
    pub retry_base_seconds: f64,
    pub retry_max_seconds: f64,
    pub lease_seconds: i64,
}

impl Settings {
    /// Loads settings for `APP_ENV` from `./config` and the process environment.
    pub fn load() -> anyhow::Result<Self> {
        let environment = std::env::var("APP_ENV").unwrap_or_else(|_| default_environment());
        Self::load_from(Path::new("config"), &environment)
    }

    pub fn load_from(config_dir: &Path, environment: &str) -> anyhow::Result<Self> {
        if !matches!(environment, "default" | "production") {
            anyhow::bail!("APP_ENV must be `default` or `production`, not `{environment}`");
        }
        let profile = if environment == "production" {
            PRODUCTION_TOML
        } else {
            ""
        };
        // The compiled-in files make the binary work from any directory; files under
        // `config_dir`, when present, override them.
        let settings: Settings = config::Config::builder()
            .add_source(config::File::from_str(
                DEFAULT_TOML,
                config::FileFormat::Toml,
            ))
            .add_source(config::File::from_str(profile, config::FileFormat::Toml))
            .add_source(config::File::from(config_dir.join("default.toml")).required(false))
            .add_source(
                config::File::from(config_dir.join(format!("{environment}.toml"))).required(false),
            )
            .add_source(
                config::Environment::with_prefix("APP")
                    .prefix_separator("__")
                    .separator("__"),
            )
            .set_override("environment", environment)?
            .build()?
            .try_deserialize()?;
        let settings = settings.fold_renamed()?;
        settings.validate()?;
        Ok(settings)
    }

    /// Reads settings under their old names. `clinic.booking_horizon_days` (how far ahead the
    /// call to action looked) became `booking.horizon_days`, a rule for every booking; set, it
    /// still counts, unless `booking.horizon_days` is set to something else too.
    fn fold_renamed(mut self) -> anyhow::Result<Self> {
        if let Some(days) = self.clinic.booking_horizon_days.take() {
            let new = self.booking.horizon_days;
            if new != days && new != DEFAULT_HORIZON_DAYS {
                anyhow::bail!(
                    "clinic.booking_horizon_days ({days}) is the old name of booking.horizon_days \
                     ({new}); set only APP__BOOKING__HORIZON_DAYS"
                );
            }
            self.booking.horizon_days = days;
        }
        Ok(self)
    }

    /// Refuses settings that are unsafe or cannot work.
    pub(crate) fn validate(&self) -> anyhow::Result<()> {
        if self.is_production() {
            let secret = self.auth.jwt_secret.expose_secret();
            if secret == DEVELOPMENT_JWT_SECRET || secret.len() < 32 {
                anyhow::bail!(
                    "production needs APP__AUTH__JWT_SECRET: a secret of at least 32 bytes, not the development default"
                );
            }
        }
        if self.is_production() && self.mail.transport == MailTransportKind::File {
            anyhow::bail!(
                "production needs APP__MAIL__TRANSPORT=smtp: the file transport delivers nothing"
            );
        }
        if self.mail.from.parse::<lettre::message::Mailbox>().is_err() {
            anyhow::bail!("mail.from must be a mailbox like `Clinic <appointments@example.com>`");
        }
        if self.mail.worker_concurrency == 0
            || self.mail.max_attempts < 1
            || self.mail.lease_seconds < 1
        {
            anyhow::bail!("mail.worker_concurrency, mail.max_attempts and mail.lease_seconds must be at least 1");
        }
        // Bounds keep every duration these become far inside what the clock can represent.
        let bounded: [(&str, f64, f64); 13] = [
            (
                "server.drain_seconds",
                self.server.drain_seconds as f64,
                MAX_DRAIN_SECONDS as f64,
            ),
            (
                "http.availability_cache_ms",
                self.http.availability_cache_ms as f64,
                60_000.0,
            ),
            (
                "mail.reminder_hours_before",
                self.mail.reminder_hours_before as f64,
                24.0 * 90.0,
            ),
            (
                "mail.lease_seconds",
                self.mail.lease_seconds as f64,
                86_400.0,
            ),
            (
                "mail.retry_base_seconds",
                self.mail.retry_base_seconds,
                86_400.0,
            ),
            (
                "mail.retry_max_seconds",
                self.mail.retry_max_seconds,
                7.0 * 86_400.0,
            ),
            (
                "mail.poll_interval_ms",
                self.mail.poll_interval_ms as f64,
                3_600_000.0,
            ),
            (
                "mail.smtp_timeout_seconds",
                self.mail.smtp_timeout_seconds as f64,
                3600.0,
            ),
            (
                "booking.horizon_days",
                self.booking.horizon_days as f64,
                crate::domain::rules::MAX_HORIZON_DAYS as f64,
            ),
            (
                "booking.min_notice_minutes",
                self.booking.min_notice_minutes as f64,
                crate::domain::rules::MAX_MIN_NOTICE_MINUTES as f64,
            ),
            (
                "booking.cancel_cutoff_hours",
                self.booking.cancel_cutoff_hours as f64,
                crate::domain::rules::MAX_CANCEL_CUTOFF_HOURS as f64,
            ),
            (
                "booking.max_active_per_email",
                f64::from(self.booking.max_active_per_email),
                1000.0,
            ),
            (
                "auth.manage_token_days_after_visit",
                self.auth.manage_token_days_after_visit as f64,
                3650.0,
            ),
        ];
        for (name, value, max) in bounded {
            if !(0.0..=max).contains(&value) {
                anyhow::bail!("{name} must be between 0 and {max}");
            }
        }
        for origin in self.http.origins() {
            let valid = (origin.starts_with("https://") || origin.starts_with("http://"))
                && !origin.contains('*')
                && origin.matches('/').count() == 2;
            if !valid {
                anyhow::bail!("http.allowed_origins: `{origin}` is not an origin like https://www.example.com");
            }
        }
        self.http.proxies()?;
        if self.database.pool_size == 0 {
            anyhow::bail!("database.pool_size must be at least 1");
        }
        if !(1..=24 * 60).contains(&self.auth.staff_token_minutes) {
            anyhow::bail!("auth.staff_token_minutes must be 1 to 1440");
        }
        if self.server.shutdown_timeout_seconds == 0 {
            anyhow::bail!("server.shutdown_timeout_seconds must be at least 1");
        }
        let sms = &self.sms;
        if !matches!(sms.provider.as_str(), "" | "twilio") {
            anyhow::bail!("sms.provider must be twilio, or empty for no text messages");
        }
        if crate::domain::patient::PhoneNumber::e164("+1 202 555 0100", &sms.default_region)
            .is_none()
        {
            anyhow::bail!("sms.default_region must be a country code such as US");
        }
        if sms.enabled() {
            let from =
                crate::domain::patient::PhoneNumber::e164(&sms.from_number, &sms.default_region);
            if sms.account_sid.trim().is_empty()
                || sms.auth_token.expose_secret().trim().is_empty()
                || from.as_deref() != Some(sms.from_number.trim())
            {
                anyhow::bail!(
                    "sms.provider=twilio needs sms.account_sid, sms.auth_token and sms.from_number (in E.164, e.g. +16025550100)"
                );
            }
            if url::Url::parse(&sms.base_url)
                .map_or(true, |u| !matches!(u.scheme(), "http" | "https"))
            {
                anyhow::bail!("sms.base_url must be an http(s) URL");
            }
        }
        if !(0..=90).contains(&self.calendar.past_days) {
            anyhow::bail!("calendar.past_days must be 0 to 90");
        }
        let hooks = &self.webhooks;
        let retry_ok =
            hooks.retry_base_seconds > 0.0 && hooks.retry_base_seconds <= hooks.retry_max_seconds;
        let ranges_ok = (1..=60).contains(&hooks.timeout_seconds)
            && (1..=50).contains(&hooks.max_attempts)
            && (1..=720).contains(&hooks.disable_after_hours)
            && (10..=60_000).contains(&hooks.poll_interval_ms)
            && (1..=64).contains(&hooks.concurrency);
        if !(retry_ok && ranges_ok) {
            anyhow::bail!(
                "webhooks: timeout_seconds 1 to 60, max_attempts 1 to 50, disable_after_hours 1 to 720, \
                 0 < retry_base_seconds <= retry_max_seconds, poll_interval_ms 10 to 60000, concurrency 1 to 64"
            );
        }
        if !(1..=1440).contains(&self.waitlist.offer_minutes) {
            anyhow::bail!("waitlist.offer_minutes must be 1 to 1440");
        }
        if !(100..=60_000).contains(&self.waitlist.sweep_interval_ms) {
            anyhow::bail!("waitlist.sweep_interval_ms must be 100 to 60000");
        }
        if !(1..=MAX_HOLD_MINUTES).contains(&self.booking.hold_minutes) {
            anyhow::bail!("booking.hold_minutes must be 1 to {MAX_HOLD_MINUTES}");
        }
        if self.booking.horizon_days < 1 || self.booking.max_active_per_email < 1 {
            anyhow::bail!(
                "booking.horizon_days and booking.max_active_per_email must be at least 1"
            );
        }
        if self.booking.min_notice_minutes >= self.booking.horizon_days * 24 * 60 {
            anyhow::bail!(
                "booking.min_notice_minutes must be shorter than booking.horizon_days, or nothing can be booked"
            );
        }
        let text = self.booking.policy_text.trim();
        if text.is_empty() || text.chars().count() > MAX_POLICY_TEXT_CHARS {
            anyhow::bail!(
                "booking.policy_text must be 1 to {MAX_POLICY_TEXT_CHARS} characters: patients read it before they book"
            );
        }
        Ok(())
    }

    pub fn is_production(&self) -> bool {
        self.environment == "production"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn production() -> Settings {
        let mut settings = Settings::load_from(Path::new("config"), "default").expect("defaults");
        settings.environment = "production".into();
        settings.auth.jwt_secret =
            SecretString::from("a-production-secret-that-is-long-enough-0123".to_owned());
        settings.mail.transport = MailTransportKind::Smtp;
        settings
    }

    #[test]
    fn production_accepts_smtp_and_a_real_secret() {
        assert!(production().validate().is_ok());
    }

    #[test]
    fn production_refuses_the_file_transport() {
        let mut settings = production();
        settings.mail.transport = MailTransportKind::File;
        assert!(settings.validate().is_err());
    }

    #[test]
    fn production_refuses_weak_or_default_secrets() {
        for secret in [DEVELOPMENT_JWT_SECRET, "short"] {
            let mut settings = production();
            settings.auth.jwt_secret = SecretString::from(secret.to_owned());
            assert!(settings.validate().is_err(), "{secret} accepted");
        }
    }

    #[test]
    fn production_drains_for_a_few_seconds_development_not_at_all() {
        let server = |profile: &str| -> ServerSettings {
            config::Config::builder()
                .add_source(config::File::from_str(
                    DEFAULT_TOML,
                    config::FileFormat::Toml,
                ))
                .add_source(config::File::from_str(profile, config::FileFormat::Toml))
                .build()
                .and_then(|c| c.get("server"))
                .expect("server settings")
        };
        assert_eq!(server("").drain_seconds, 0);
        assert!((1..=30).contains(&server(PRODUCTION_TOML).drain_seconds));
    }

    /// Settings from the defaults with `toml` laid over them, as a `config/default.toml` in the
    /// working directory (or the matching `APP__…` variables) would.
    fn loaded_with(toml: &str) -> anyhow::Result<Settings> {
        let dir = std::env::temp_dir().join(format!(
            "clinic-booking-settings-{}-{:x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("default.toml"), toml)?;
        let loaded = Settings::load_from(&dir, "default");
        std::fs::remove_dir_all(&dir)?;
        loaded
    }

    #[test]
    fn the_booking_rules_default_to_the_issues_values() {
        let settings = Settings::load_from(Path::new("config"), "default").expect("defaults");
        assert_eq!(settings.booking.rules(), BookingRules::default());
        assert!(!settings.booking.policy_text.trim().is_empty());
    }

    #[test]
    fn the_old_name_of_the_horizon_still_counts() {
        let old = loaded_with("[clinic]\nbooking_horizon_days = 30\n").expect("the old name");
        assert_eq!(old.booking.horizon_days, 30);
        assert_eq!(old.booking.rules().horizon, chrono::Duration::days(30));
        let both =
            loaded_with("[clinic]\nbooking_horizon_days = 30\n[booking]\nhorizon_days = 30\n");
        assert_eq!(both.expect("both names agree").booking.horizon_days, 30);
        let refused =
            loaded_with("[clinic]\nbooking_horizon_days = 30\n[booking]\nhorizon_days = 60\n")
                .expect_err("two different horizons");
        assert!(
            refused.to_string().contains("APP__BOOKING__HORIZON_DAYS"),
            "{refused}"
        );
    }

    #[test]
    fn booking_rules_out_of_bounds_are_refused() {
        for (change, name) in [
            ("min_notice_minutes = -1", "booking.min_notice_minutes"),
            ("horizon_days = 0", "booking.horizon_days"),
            ("horizon_days = 4000", "booking.horizon_days"),
            ("cancel_cutoff_hours = 3000", "booking.cancel_cutoff_hours"),
            ("max_active_per_email = 0", "booking.max_active_per_email"),
            ("hold_minutes = 0", "booking.hold_minutes"),
            ("hold_minutes = 61", "booking.hold_minutes"),
            (
                "min_notice_minutes = 1440\nhorizon_days = 1",
                "booking.min_notice_minutes",
            ),
            ("policy_text = \"  \"", "booking.policy_text"),
        ] {
            let refused = loaded_with(&format!("[booking]\n{change}\n")).expect_err(change);
            assert!(refused.to_string().contains(name), "{change}: {refused}");
        }
        for change in ["offer_minutes = 0", "sweep_interval_ms = 10"] {
            let refused = loaded_with(&format!("[waitlist]\n{change}\n")).expect_err(change);
            assert!(
                refused.to_string().contains("waitlist."),
                "{change}: {refused}"
            );
        }
    }

    #[test]
    fn drains_longer_than_the_maximum_are_refused() {
        let mut settings = production();
        settings.server.drain_seconds = MAX_DRAIN_SECONDS;
        assert!(settings.validate().is_ok());
        settings.server.drain_seconds = MAX_DRAIN_SECONDS + 1;
        let refused = settings.validate().expect_err("refused");
        assert!(
            refused.to_string().contains("server.drain_seconds"),
            "{refused}"
        );
    }
}
