//! The `clinic-booking` command: a thin CLI over the library.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use clinic_booking::settings::Settings;
use clinic_booking::startup::{prepare_database, Application};
use clinic_booking::{db, demo, telemetry};

#[derive(Parser)]
#[command(
    name = "clinic-booking",
    version,
    about = "Appointment-booking backend for clinics"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending migrations, then serve the API (the default).
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Add the demo clinic (providers and two weeks of slots) where it is missing.
    SeedDemo,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("clinic-booking: invalid settings: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    telemetry::init(settings.is_production());
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::Migrate => migrate(settings).await,
        Command::SeedDemo => seed_demo(settings).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "clinic-booking failed");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let app = Application::build(settings).await?;
    app.run_until_stopped().await?;
    Ok(())
}

async fn migrate(settings: Settings) -> anyhow::Result<()> {
    let pool = db::build_pool(&settings.database.url, 1)?;
    let applied =
        tokio::task::spawn_blocking(move || db::run_migrations(&mut *pool.get()?)).await??;
    tracing::info!(applied, "migrations are current");
    Ok(())
}

async fn seed_demo(mut settings: Settings) -> anyhow::Result<()> {
    settings.demo.seed = false;
    let pool = prepare_database(&settings).await?;
    let tz = settings.clinic.timezone;
    let report =
        tokio::task::spawn_blocking(move || demo::seed(&mut *pool.get()?, tz, chrono::Utc::now()))
            .await??;
    tracing::info!(
        providers = report.providers_created,
        slots = report.slots_created,
        "demo clinic seeded"
    );
    Ok(())
}
