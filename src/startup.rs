//! Builds the application: pool, migrations, demo seed, routes, and the HTTP server bound to its
//! listener. Tests build it exactly as `serve` does, on port 0.

use std::net::TcpListener;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use actix_web::dev::{Server, ServerHandle};
use actix_web::http::StatusCode;
use actix_web::middleware::ErrorHandlers;
use actix_web::{error::InternalError, web, App, HttpServer};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tracing_actix_web::TracingLogger;

use crate::telemetry::RequestSpan;

use crate::abuse::{self, PublicPostLimit};
use crate::auth::jwt::TokenKeys;
use crate::auth::password::VerificationLimit;
use crate::availability::AvailabilityCache;
use crate::db::{self, Pool};
use crate::error::ApiError;
use crate::mail::render::MailRenderer;
use crate::mail::worker::MailWorker;
use crate::mail::Mailer;
use crate::metrics::Metrics;
use crate::settings::Settings;
use crate::state::{AppState, MAX_JSON_BYTES};

pub struct Application {
    port: u16,
    server: Server,
    pool: Pool,
    mail_worker: JoinHandle<()>,
    stop_mail_worker: Arc<watch::Sender<bool>>,
    shutdown_timeout: Duration,
    /// When a signal asked to stop: the shutdown timeout counts from then.
    signalled_at: Arc<OnceLock<Instant>>,
}

impl Application {
    /// Opens the database, applies migrations, seeds the demo clinic when configured and the
    /// database is empty, and binds the listener.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let settings = Arc::new(settings);
        let pool = prepare_database(&settings).await?;
        tokio::task::spawn_blocking(crate::auth::password::prepare_dummy_hash).await?;
        let (host, port) = (settings.server.host.as_str(), settings.server.port);
        let listener = TcpListener::bind((host, port)).map_err(|e| match e.kind() {
            std::io::ErrorKind::AddrInUse => anyhow::anyhow!(
                "{host}:{port} is in use; set APP__SERVER__PORT (0 takes a free port)"
            ),
            _ => anyhow::anyhow!(
                "cannot listen on {host}:{port} ({e}); set APP__SERVER__HOST or APP__SERVER__PORT"
            ),
        })?;
        let address = listener.local_addr()?;
        tracing::info!(%address, "listening on http://{address}");
        let tokens = TokenKeys::new(
            &settings.auth.jwt_secret,
            settings.auth.manage_token_days_after_visit,
        )
        .with_staff_token_minutes(settings.auth.staff_token_minutes);
        let mail_wakeup = Arc::new(Notify::new());
        let metrics = Arc::new(Metrics::new()?);
        let worker = MailWorker::new(
            pool.clone(),
            Mailer::from_settings(&settings.mail)?,
            Arc::new(MailRenderer::new(&settings, tokens.clone())?),
            settings.mail.clone(),
            mail_wakeup.clone(),
        )
        .with_metrics(metrics.clone());
        let (stop_mail_worker, stopped) = watch::channel(false);
        let stop_mail_worker = Arc::new(stop_mail_worker);
        let mail_worker = if settings.mail.worker_enabled {
            tokio::spawn(worker.run(stopped.clone()))
        } else {
            tracing::info!("mail worker off (mail.worker_enabled): another copy sends the mail");
            tokio::spawn(async {})
        };
        tokio::spawn(crate::idempotency::forget_old_keys(pool.clone(), stopped));
        let metrics_data = web::Data::from(metrics.clone());
        let availability = Arc::new(AvailabilityCache::new(Duration::from_millis(
            settings.http.availability_cache_ms,
        )));
        let availability_data = web::Data::from(availability.clone());
        let state = web::Data::new(AppState {
            pool: pool.clone(),
            tokens,
            settings: settings.clone(),
            mail_wakeup,
            metrics,
            password_checks: VerificationLimit::per_core(),
            availability,
        });
        let workers = match settings.server.workers {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        let shutdown_timeout = Duration::from_secs(settings.server.shutdown_timeout_seconds);
        let signalled_at = Arc::new(OnceLock::new());
        let public_posts = PublicPostLimit::new(&settings.http)?;
        let http_settings = settings.http.clone();
        let server = HttpServer::new(move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(
                    crate::metrics::track_requests,
                ))
                .wrap(actix_web::middleware::from_fn(
                    crate::telemetry::response_headers,
                ))
                .wrap(actix_web::middleware::from_fn(
                    crate::availability::invalidate_after_writes,
                ))
                .wrap(ErrorHandlers::new().handler(
                    StatusCode::METHOD_NOT_ALLOWED,
                    crate::routes::method_not_allowed,
                ))
                .wrap(abuse::cors(&http_settings))
                .wrap(TracingLogger::<RequestSpan>::new())
                .app_data(state.clone())
                .app_data(metrics_data.clone())
                .app_data(availability_data.clone())
                .app_data(json_config())
                .app_data(query_config())
                .app_data(path_config())
                .configure(|cfg| crate::routes::configure(cfg, &public_posts))
                .default_service(web::to(crate::routes::not_found))
        })
        .workers(workers)
        // Database work waits for one of `pool_size` connections anyway: a thread per waiting
        // request (actix's default allows hundreds) only costs memory and context switches.
        .worker_max_blocking_threads(blocking_threads_per_worker(
            settings.database.pool_size,
            workers,
        ))
        .shutdown_timeout(shutdown_timeout.as_secs())
        .shutdown_signal(stop_on_signal(
            stop_mail_worker.clone(),
            signalled_at.clone(),
        ))
        .listen(listener)?
        .run();
        Ok(Self {
            port: address.port(),
            server,
            pool,
            mail_worker,
            stop_mail_worker,
            shutdown_timeout,
            signalled_at,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pool(&self) -> Pool {
        self.pool.clone()
    }

    /// A handle to stop the server gracefully.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until the server is stopped (SIGTERM, SIGINT or `handle().stop()`), then lets the
    /// mail worker finish the job in hand, all within the shutdown timeout counted from the
    /// signal. A job the worker could not finish in time stays claimed until its lease runs
    /// out, and is sent then by another copy or the next start: late, never lost.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        let _ = self.stop_mail_worker.send(true);
        let deadline = self
            .signalled_at
            .get()
            .copied()
            .unwrap_or_else(Instant::now)
            + self.shutdown_timeout;
        let mut mail_worker = self.mail_worker;
        match tokio::time::timeout_at(deadline.into(), &mut mail_worker).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "mail worker ended abnormally"),
            Err(_) => {
                mail_worker.abort();
                tracing::warn!("mail worker did not stop within the shutdown timeout");
            }
        }
        tracing::info!("stopped");
        served
    }
}

/// Completes on SIGTERM or SIGINT (both graceful: actix treats SIGINT as a forced stop), and
/// tells the mail worker to finish up at the same moment the server stops accepting.
async fn stop_on_signal(
    stop_mail_worker: Arc<watch::Sender<bool>>,
    signalled_at: Arc<OnceLock<Instant>>,
) {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut terminate), Ok(mut interrupt)) => {
            let name = tokio::select! {
                _ = terminate.recv() => "SIGTERM",
                _ = interrupt.recv() => "SIGINT",
            };
            let _ = signalled_at.set(Instant::now());
            tracing::info!(signal = name, "shutting down gracefully");
        }
        (Err(e), _) | (_, Err(e)) => {
            // Without handlers the default action (exit) applies; serve on regardless.
            tracing::warn!(error = %e, "cannot listen for shutdown signals");
            std::future::pending::<()>().await;
        }
    }
    let _ = stop_mail_worker.send(true);
}

/// Blocking threads each HTTP worker may start for `web::block`: together about two per pooled
/// connection, so a connection freed is taken at once, and never fewer than four per worker.
fn blocking_threads_per_worker(pool_size: u32, workers: usize) -> usize {
    ((pool_size as usize * 2).div_ceil(workers.max(1))).max(4)
}

/// Pool plus pending migrations plus, in the default profile, the demo clinic.
pub async fn prepare_database(settings: &Settings) -> anyhow::Result<Pool> {
    let pool = db::build_pool(&settings.database.url, settings.database.pool_size)?;
    let seed = settings.demo.seed && !settings.is_production();
    let tz = settings.clinic.timezone;
    let blocking_pool = pool.clone();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let mut conn = blocking_pool.get()?;
        let applied = db::run_migrations(&mut conn)?;
        if applied > 0 {
            tracing::info!(applied, "applied database migrations");
        }
        if seed {
            crate::demo::seed_if_empty(&mut conn, tz, chrono::Utc::now())?;
        }
        Ok(())
    })
    .await??;
    Ok(pool)
}

fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(MAX_JSON_BYTES)
        .error_handler(|error, _req| {
            use actix_web::error::JsonPayloadError;
            let api_error = match &error {
                JsonPayloadError::OverflowKnownLength { .. }
                | JsonPayloadError::Overflow { .. } => ApiError::PayloadTooLarge(format!(
                    "JSON bodies are limited to {MAX_JSON_BYTES} bytes"
                )),
                JsonPayloadError::ContentType => ApiError::BadRequest(
                    "send the body as JSON with `Content-Type: application/json`".into(),
                ),
                JsonPayloadError::Deserialize(e) => {
                    ApiError::BadRequest(format!("malformed JSON: {e}"))
                }
                other => ApiError::BadRequest(format!("unreadable body: {other}")),
            };
            InternalError::from_response(
                error,
                actix_web::ResponseError::error_response(&api_error),
            )
            .into()
        })
}

fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|error, _req| {
        let api_error = ApiError::BadRequest(format!("malformed query: {error}"));
        InternalError::from_response(error, actix_web::ResponseError::error_response(&api_error))
            .into()
    })
}

fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|error, _req| {
        let api_error = ApiError::NotFound("resource".into());
        InternalError::from_response(error, actix_web::ResponseError::error_response(&api_error))
            .into()
    })
}
