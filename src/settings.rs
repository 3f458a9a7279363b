//! Settings: `config/default.toml` (also compiled in, so the binary runs from any directory),
//! then `config/{APP_ENV}.toml`, then `APP__SECTION__KEY` environment variables.

use std::path::Path;

use chrono_tz::Tz;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

const DEFAULT_TOML: &str = include_str!("../config/default.toml");
const DEVELOPMENT_JWT_SECRET: &str = "insecure-development-secret-change-me-in-production";

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub clinic: ClinicSettings,
    pub cta: CtaSettings,
    pub demo: DemoSettings,
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

fn default_staff_token_minutes() -> i64 {
    crate::auth::jwt::DEFAULT_STAFF_TOKEN_MINUTES
}

#[derive(Debug, Clone, Deserialize)]
pub struct ClinicSettings {
    pub name: String,
    pub address: String,
    pub phone: String,
    pub timezone: Tz,
    pub public_base_url: String,
    pub booking_horizon_days: i64,
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
        let settings: Settings = config::Config::builder()
            .add_source(config::File::from_str(
                DEFAULT_TOML,
                config::FileFormat::Toml,
            ))
            .add_source(config::File::from(config_dir.join("default.toml")).required(false))
            .add_source(
                config::File::from(config_dir.join(format!("{environment}.toml")))
                    .required(environment != "default"),
            )
            .add_source(
                config::Environment::with_prefix("APP")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true),
            )
            .set_override("environment", environment)?
            .build()?
            .try_deserialize()?;
        settings.validate()?;
        Ok(settings)
    }

    /// Refuses settings that are unsafe or cannot work.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.is_production() {
            let secret = self.auth.jwt_secret.expose_secret();
            if secret == DEVELOPMENT_JWT_SECRET || secret.len() < 32 {
                anyhow::bail!(
                    "production needs APP__AUTH__JWT_SECRET: a secret of at least 32 bytes, not the development default"
                );
            }
        }
        if self.database.pool_size == 0 {
            anyhow::bail!("database.pool_size must be at least 1");
        }
        if !(1..=24 * 60).contains(&self.auth.staff_token_minutes) {
            anyhow::bail!("auth.staff_token_minutes must be 1 to 1440");
        }
        if self.clinic.booking_horizon_days < 1 {
            anyhow::bail!("clinic.booking_horizon_days must be at least 1");
        }
        Ok(())
    }

    pub fn is_production(&self) -> bool {
        self.environment == "production"
    }
}
