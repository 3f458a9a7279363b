//! The `clinic-booking` command: a thin CLI over the library.

use std::io::BufRead;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use clinic_booking::clinic::{accounts, privacy};
use clinic_booking::domain::actor::Actor;
use clinic_booking::domain::ids::{PatientId, ProviderId};
use clinic_booking::domain::staff::{NewPassword, Role, StaffEmail};
use clinic_booking::settings::Settings;
use clinic_booking::startup::{prepare_database, Application};
use clinic_booking::{db, demo, telemetry};

/// Where the settings come from and the ones a newcomer changes first (`serve --help`).
const SETTINGS_HELP: &str = "\
Settings: config/default.toml is built into the binary; config/default.toml and
config/$APP_ENV.toml in the working directory override it when they exist (APP_ENV is
`default`, or `production` for config/production.toml); APP__SECTION__KEY environment
variables override both. Those most often changed:

  APP__SERVER__HOST, APP__SERVER__PORT  where to listen (127.0.0.1 and 8080; port 0 takes a
                                        free port, and the log says which)
  APP__DATABASE__URL                    sqlite://PATH (default sqlite://data/clinic-booking.db;
                                        ./data is created, any other directory must exist)
                                        or postgres://USER@HOST:PORT/DB
  APP__AUTH__JWT_SECRET                 signs tokens; production refuses the development value
  APP__MAIL__TRANSPORT                  file (.eml files under data/mail) or smtp
  APP__DEMO__SEED                       seed a demo clinic into an empty database (never in
                                        production)
  RUST_LOG                              what the log shows (default info)

Every setting, with its default and what it does, is in config/default.toml and in the README's
Configuration section.";

/// The other commands open the same database as `serve`.
const DATABASE_HELP: &str = "\
The database is APP__DATABASE__URL (default sqlite://data/clinic-booking.db); settings are read
as for `serve` (see `clinic-booking serve --help`).";

const CREATE_USER_HELP: &str = "\
Create a staff account. Its password is one line of standard input, at least 12 characters, so
that it is in neither the shell history nor the process list:

  echo 'desk-password-change-me' | clinic-booking create-user --email desk@clinic.example --role front_desk

The account logs in with POST /api/v1/auth/login.";

#[derive(Parser)]
#[command(
    name = "clinic-booking",
    version,
    about = "Appointment-booking backend for clinics",
    after_help = "Settings: config/default.toml, config/$APP_ENV.toml and APP__SECTION__KEY \
                  environment variables; `clinic-booking serve --help` lists them."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending migrations, then serve the API (the default).
    #[command(after_help = SETTINGS_HELP)]
    Serve,
    /// Apply pending migrations and exit.
    #[command(after_help = DATABASE_HELP)]
    Migrate,
    /// Add the demo clinic (providers and two weeks of slots) where it is missing.
    #[command(after_help = DATABASE_HELP)]
    SeedDemo,
    /// Copy the SQLite database to FILE, consistently, while `serve` may be running.
    /// (PostgreSQL: use pg_dump.)
    #[command(after_help = DATABASE_HELP)]
    Backup {
        /// Where to write the copy: a new file (an existing one is never overwritten), in a
        /// directory that exists.
        #[arg(long, value_name = "FILE")]
        to: std::path::PathBuf,
    },
    /// Create a staff account (its password is read from standard input)
    #[command(long_about = CREATE_USER_HELP, after_help = DATABASE_HELP)]
    CreateUser {
        /// The address the staff member logs in with (case does not matter; one account per
        /// address).
        #[arg(long, value_name = "ADDRESS")]
        email: String,
        /// What the account may do.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// With `--role provider`: the provider (id) the account belongs to; it then manages
        /// that provider's calendar feed.
        #[arg(long, value_name = "ID")]
        provider: Option<i32>,
    },
    /// Print everything held about one patient as JSON (a right-of-access request)
    #[command(after_help = DATABASE_HELP)]
    ExportPatient {
        /// The patient's record id (`GET /api/v1/patients?q=` finds it).
        #[arg(long, value_name = "ID")]
        id: i32,
    },
    /// Erase one patient's personal data everywhere it is stored (an erasure request)
    #[command(after_help = DATABASE_HELP)]
    ErasePatient {
        /// The patient's record id (`GET /api/v1/patients?q=` finds it).
        #[arg(long, value_name = "ID")]
        id: i32,
    },
    /// Erase the patients with no visit in `privacy.retention_days` days (or --days), now
    #[command(after_help = DATABASE_HELP)]
    EraseInactive {
        /// Days without a visit (default: APP__PRIVACY__RETENTION_DAYS).
        #[arg(long, value_name = "DAYS")]
        days: Option<u32>,
    },
}

/// `create-user --role`: the staff roles, with what each may do.
#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    /// everything: providers, schedules, bookings, the audit log and the mail queue
    #[value(name = "admin")]
    Admin,
    /// schedules, slots and bookings
    #[value(name = "front_desk")]
    FrontDesk,
    /// the day sheet and bookings: book, move and cancel visits, record arrivals, completed
    /// visits and no-shows
    #[value(name = "provider")]
    Provider,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Admin => Role::Admin,
            RoleArg::FrontDesk => Role::FrontDesk,
            RoleArg::Provider => Role::Provider,
        }
    }
}

fn main() -> ExitCode {
    limit_malloc_arenas();
    // SAFETY: no thread has been started yet, so none is using SQLite.
    unsafe {
        db::tune_sqlite_library();
    }
    run()
}

/// glibc's malloc gives threads arenas of their own, up to eight per core, and keeps what each
/// arena once held. The server's threads (HTTP workers, the blocking threads that run queries,
/// the mail worker) each grew one: peak RSS went from 48 to 76 MiB over a booking benchmark. One
/// arena per core measured the same throughput (BENCHMARKS.md). `MALLOC_ARENA_MAX`, when set,
/// still wins.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return;
    }
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let arenas = libc::c_int::try_from(cores.max(2)).unwrap_or(libc::c_int::MAX);
    // SAFETY: `mallopt` only tunes the allocator; it runs before the runtime starts any thread.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, arenas);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

#[tokio::main]
async fn run() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!(
                "clinic-booking: invalid settings: {}",
                with_setting_named(&format!("{e:#}"))
            );
            return ExitCode::FAILURE;
        }
    };
    let production = settings.is_production();
    // Held to the end of the command: dropping it flushes the queued log lines.
    let _log_writer = telemetry::init(production);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::Migrate => migrate(settings).await,
        Command::SeedDemo => seed_demo(settings).await,
        Command::Backup { to } => backup(settings, to).await,
        Command::CreateUser {
            email,
            role,
            provider,
        } => create_user(settings, &email, role.into(), provider).await,
        Command::ExportPatient { id } => export_patient(settings, id).await,
        Command::ErasePatient { id } => erase_patient(settings, id).await,
        Command::EraseInactive { days } => erase_inactive(settings, days).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let message = describe(&e);
            // Production's JSON log is what gets collected: the failure goes there as well.
            if production {
                tracing::error!(error = %message, "clinic-booking failed");
            }
            eprintln!("clinic-booking: {message}");
            ExitCode::FAILURE
        }
    }
}

/// A command's failure as one reads it at a terminal: the causes in a line, and the setting that
/// changes the outcome when it can be told.
fn describe(error: &anyhow::Error) -> String {
    let message = format!("{error:#}");
    let message = message.trim_end();
    // The pool could not open a connection: a database that is not there, refuses us, or is
    // not a database. Errors about the URL itself name the setting already.
    let opening_failed = error
        .chain()
        .any(|cause| cause.is::<diesel::r2d2::PoolError>());
    if opening_failed && !message.contains("APP__DATABASE__URL") {
        return format!("cannot open the database (check APP__DATABASE__URL): {message}");
    }
    with_setting_named(message)
}

/// Appends the environment variable of each setting the message names as `section.key` (as the
/// settings' own checks and the config loader word them), unless it names one already:
/// "invalid type ... for key `server.port`" gets "; set APP__SERVER__PORT".
fn with_setting_named(message: &str) -> String {
    if message.contains("APP__") {
        return message.to_owned();
    }
    let known = known_settings();
    let mut variables: Vec<String> = Vec::new();
    let words = message.split(|c: char| !(c.is_ascii_lowercase() || c == '_' || c == '.'));
    for word in words.map(|w| w.trim_matches('.')) {
        if known.iter().any(|k| k == word) {
            let variable = format!("APP__{}", word.replace('.', "__").to_ascii_uppercase());
            if !variables.contains(&variable) {
                variables.push(variable);
            }
        }
    }
    match variables.as_slice() {
        [] => message.to_owned(),
        [one] => format!("{message}; set {one}"),
        [several @ .., last] => format!("{message}; check {} and {last}", several.join(", ")),
    }
}

/// Every setting as `section.key`, read from the defaults built into the binary (they list
/// them all).
fn known_settings() -> Vec<String> {
    let mut section = "";
    let mut keys = Vec::new();
    for line in include_str!("../config/default.toml")
        .lines()
        .map(str::trim)
    {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name;
        } else if let Some((key, _)) = line.split_once('=').filter(|_| !line.starts_with('#')) {
            keys.push(format!("{section}.{}", key.trim()));
        }
    }
    keys
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let app = Application::build(settings).await?;
    app.run_until_stopped().await?;
    Ok(())
}

async fn migrate(settings: Settings) -> anyhow::Result<()> {
    let pool = db::build_pool(&settings.database.url, 1)?;
    let clinic = settings.clinic.clone();
    // The main location too (as `serve` makes it): SQL cannot read the settings, and what is
    // loaded or run against the database before the first `serve` needs it.
    let applied = tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
        let mut conn = pool.get()?;
        let applied = db::run_migrations(&mut conn)?;
        clinic_booking::startup::ensure_main_location(&mut conn, &clinic)?;
        Ok(applied)
    })
    .await??;
    tracing::info!(applied, "migrations are current");
    Ok(())
}

async fn backup(settings: Settings, to: std::path::PathBuf) -> anyhow::Result<()> {
    match db::DatabaseUrl::parse(&settings.database.url).map_err(anyhow::Error::msg)? {
        db::DatabaseUrl::Postgres(_) => anyhow::bail!(
            "`backup` copies SQLite databases; back up PostgreSQL with pg_dump (see the README)"
        ),
        // Opening a missing file would create an empty database and back that up.
        db::DatabaseUrl::Sqlite(path) if !std::path::Path::new(&path).exists() => {
            anyhow::bail!("no SQLite database at {path}; set APP__DATABASE__URL")
        }
        db::DatabaseUrl::Sqlite(_) => {}
    }
    let pool = db::build_pool(&settings.database.url, 1)?;
    let target = to.clone();
    tokio::task::spawn_blocking(move || db::backup_sqlite(&mut *pool.get()?, &target)).await??;
    tracing::info!(to = %to.display(), "backup written");
    Ok(())
}

/// The database as `serve` prepares it, without seeding the demo clinic.
async fn database(settings: &Settings) -> anyhow::Result<db::Pool> {
    prepare_database(&Settings {
        demo: clinic_booking::settings::DemoSettings { seed: false },
        ..settings.clone()
    })
    .await
}

async fn export_patient(settings: Settings, id: i32) -> anyhow::Result<()> {
    let pool = database(&settings).await?;
    let document = tokio::task::spawn_blocking(move || -> anyhow::Result<serde_json::Value> {
        let mut conn = pool.get()?;
        db::write_transaction(&mut conn, |conn| {
            privacy::export(conn, &Actor::CommandLine, PatientId::new(id), db::now())
        })
        .map_err(|e| anyhow::anyhow!("{e}"))
    })
    .await??;
    println!("{}", serde_json::to_string_pretty(&document)?);
    Ok(())
}

async fn erase_patient(settings: Settings, id: i32) -> anyhow::Result<()> {
    let pool = database(&settings).await?;
    let erasure = tokio::task::spawn_blocking(move || {
        let mut conn = pool.get()?;
        db::write_transaction(&mut conn, |conn| {
            privacy::erase(conn, &Actor::CommandLine, PatientId::new(id), db::now())
        })
        .map_err(|e| anyhow::anyhow!("{e}"))
    })
    .await??;
    let files = clinic_booking::mail::erase_stored_copies(
        &settings.mail,
        &erasure.emails,
        &erasure.markers,
    )?;
    let mut answer = serde_json::to_value(erasure.erased)?;
    answer["mail_files"] = serde_json::json!(files);
    println!("{answer}");
    Ok(())
}

async fn erase_inactive(settings: Settings, days: Option<u32>) -> anyhow::Result<()> {
    let days = days.unwrap_or(settings.privacy.retention_days);
    if days == 0 {
        anyhow::bail!("no retention period: pass --days or set APP__PRIVACY__RETENTION_DAYS");
    }
    let pool = database(&settings).await?;
    let mail = settings.mail.clone();
    let swept = tokio::task::spawn_blocking(move || {
        clinic_booking::retention::erase_inactive(&pool, &mail, days)
    })
    .await??;
    tracing::info!(
        patients = swept.patients,
        mail_files = swept.mail_files,
        days,
        "erased patients past the retention period"
    );
    println!(
        "{{\"patients\":{},\"mail_files\":{}}}",
        swept.patients, swept.mail_files
    );
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
        visit_types = report.visit_types_created,
        slots = report.slots_created,
        "demo clinic seeded"
    );
    Ok(())
}

async fn create_user(
    settings: Settings,
    email: &str,
    role: Role,
    provider: Option<i32>,
) -> anyhow::Result<()> {
    if provider.is_some() && role != Role::Provider {
        anyhow::bail!("--provider goes with --role provider only");
    }
    let email = StaffEmail::parse(email).map_err(|m| anyhow::anyhow!("--email: {m}"))?;
    // One line from standard input, so the password is in neither the shell history nor `ps`.
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let typed = line.strip_suffix('\n').unwrap_or(&line);
    let typed = typed.strip_suffix('\r').unwrap_or(typed);
    let password = NewPassword::parse(typed).map_err(anyhow::Error::msg)?;
    let pool = prepare_database(&Settings {
        demo: clinic_booking::settings::DemoSettings { seed: false },
        ..settings
    })
    .await?;
    let user = tokio::task::spawn_blocking(move || {
        let mut conn = pool.get()?;
        let user = accounts::create_user(&mut conn, &email, role, &password, &Actor::CommandLine)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if let Some(provider) = provider {
            accounts::link_provider(&mut conn, &user, ProviderId::new(provider))
                .map_err(|e| anyhow::anyhow!("--provider {provider}: {e}"))?;
        }
        Ok::<_, anyhow::Error>(user)
    })
    .await??;
    tracing::info!(user_id = user.id.get(), role = %user.role, "user created");
    println!("created {} user {} (id {})", user.role, user.email, user.id);
    Ok(())
}
