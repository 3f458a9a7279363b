//! Builds the application: pool, migrations, demo seed, routes, and the HTTP server bound to its
//! listener. Tests build it exactly as `serve` does, on port 0.

use std::net::TcpListener;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::ErrorHandlers;
use actix_web::{error::InternalError, web, App, HttpServer};
use tokio::signal::unix::{signal, Signal, SignalKind};
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
use crate::sms::worker::TextWorker;
use crate::state::{AppState, Draining, PoolTurns, MAX_JSON_BYTES};
use crate::webhooks::worker::WebhookWorker;

pub struct Application {
    port: u16,
    server: Server,
    pool: Pool,
    mail_worker: JoinHandle<()>,
    stop_mail_worker: Arc<watch::Sender<bool>>,
    shutdown_timeout: Duration,
    /// When a signal's drain was over and the server stopped accepting: the shutdown timeout
    /// counts from then.
    stopping_since: Arc<OnceLock<Instant>>,
}

impl Application {
    /// Opens the database, applies migrations, seeds the demo clinic when configured and the
    /// database is empty, and binds the listener.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let settings = Arc::new(settings);
        let pool = prepare_database(&settings).await?;
        tokio::task::spawn_blocking(crate::auth::password::prepare_dummy_hash).await?;
        // Before the address is announced: from then on SIGTERM is a graceful stop (a signal
        // that comes before the server runs waits for it), never the default action's exit.
        let signals = shutdown_signals();
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
        // Webhook deliveries are the outbox's too: the copies that send mail send them.
        let webhook_wakeup = Arc::new(Notify::new());
        let hooks = WebhookWorker::new(
            pool.clone(),
            settings.webhooks.clone(),
            webhook_wakeup.clone(),
            mail_wakeup.clone(),
        )?;
        let texts_wakeup = Arc::new(Notify::new());
        let texter = TextWorker::new(
            pool.clone(),
            &settings,
            tokens.clone(),
            texts_wakeup.clone(),
        )?;
        let mail_worker = if settings.mail.worker_enabled {
            let (mail_stopped, hooks_stopped) = (stopped.clone(), stopped.clone());
            let texts_stopped = stopped.clone();
            tokio::spawn(async move {
                let texts = async move {
                    if let Some(texter) = texter {
                        texter.run(texts_stopped).await;
                    }
                };
                futures::join!(worker.run(mail_stopped), hooks.run(hooks_stopped), texts);
            })
        } else {
            tracing::info!(
                "mail and webhook workers off (mail.worker_enabled): another copy delivers"
            );
            tokio::spawn(async {})
        };
        let policy = Arc::new(crate::state::booking_policy(&settings));
        tokio::spawn(crate::sweeper::run(
            pool.clone(),
            policy.clone(),
            Duration::from_millis(settings.waitlist.sweep_interval_ms),
            mail_wakeup.clone(),
            stopped.clone(),
        ));
        tokio::spawn(crate::retention::run(
            pool.clone(),
            settings.mail.clone(),
            settings.privacy.retention_days,
            stopped.clone(),
        ));
        tokio::spawn(crate::idempotency::forget_old_keys(pool.clone(), stopped));
        let metrics_data = web::Data::from(metrics.clone());
        let availability = Arc::new(AvailabilityCache::new(Duration::from_millis(
            settings.http.availability_cache_ms,
        )));
        let availability_data = web::Data::from(availability.clone());
        let draining = Draining::default();
        let state = web::Data::new(AppState {
            pool: pool.clone(),
            tokens,
            settings: settings.clone(),
            policy,
            mail_wakeup,
            webhook_wakeup,
            texts_wakeup,
            metrics,
            password_checks: VerificationLimit::per_core(),
            availability,
            draining: draining.clone(),
            pool_turns: PoolTurns::new(settings.database.pool_size, db::POOL_WAIT),
        });
        let workers = match settings.server.workers {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        let shutdown_timeout = Duration::from_secs(settings.server.shutdown_timeout_seconds);
        let drain = Duration::from_secs(settings.server.drain_seconds);
        let stopping_since = Arc::new(OnceLock::new());
        let public_posts = PublicPostLimit::new(&settings.http)?;
        let document = crate::routes::openapi::DocumentJson::new(&settings)?;
        let http_settings = settings.http.clone();
        let server = HttpServer::new(move || {
            // Innermost first. Every answer, a refused CORS preflight included, passes through
            // the problem documents and then the security headers on its way out.
            App::new()
                .wrap(actix_web::middleware::from_fn(
                    crate::availability::invalidate_after_writes,
                ))
                .wrap(actix_web::middleware::from_fn(
                    crate::metrics::track_requests,
                ))
                .wrap(abuse::cors(&http_settings))
                .wrap(ErrorHandlers::new().default_handler(crate::routes::problem_document))
                .wrap(actix_web::middleware::from_fn(
                    crate::telemetry::response_headers,
                ))
                .wrap(TracingLogger::<RequestSpan>::new())
                .wrap(actix_web::middleware::from_fn(
                    close_connections_when_draining,
                ))
                .app_data(state.clone())
                .app_data(metrics_data.clone())
                .app_data(availability_data.clone())
                .app_data(json_config())
                .app_data(query_config())
                .app_data(path_config())
                .configure(|cfg| crate::routes::configure(cfg, &public_posts, &document))
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
            signals,
            draining,
            drain,
            stop_mail_worker.clone(),
            stopping_since.clone(),
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
            stopping_since,
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

    /// Serves until the server is stopped (SIGTERM or SIGINT after the drain, or
    /// `handle().stop()`), then lets the mail worker finish the job in hand, all within the
    /// shutdown timeout counted from the moment the server stopped accepting. A job the worker
    /// could not finish in time stays claimed until its lease runs out, and is sent then by
    /// another copy or the next start: late, never lost.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        let _ = self.stop_mail_worker.send(true);
        let deadline = self
            .stopping_since
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

/// Completes once the server should stop accepting: on SIGTERM or SIGINT (both graceful: actix
/// alone would treat SIGINT as a forced stop), after the drain. From the signal on the copy is
/// draining: `/health/ready` answers 503 so load balancers take it out, and everything else is
/// served as before (with `Connection: close`) for `drain`, which a second signal cuts short.
/// Then the mail worker is told to finish up, at the moment the server stops accepting.
async fn stop_on_signal(
    signals: std::io::Result<(Signal, Signal)>,
    draining: Draining,
    drain: Duration,
    stop_mail_worker: Arc<watch::Sender<bool>>,
    stopping_since: Arc<OnceLock<Instant>>,
) {
    let (mut terminate, mut interrupt) = match signals {
        Ok(signals) => signals,
        Err(e) => {
            // Without handlers the default action (exit) applies; serve on regardless.
            tracing::warn!(error = %e, "cannot listen for shutdown signals");
            std::future::pending::<()>().await;
            return;
        }
    };
    let name = tokio::select! {
        _ = terminate.recv() => "SIGTERM",
        _ = interrupt.recv() => "SIGINT",
    };
    draining.begin();
    if !drain.is_zero() {
        tracing::info!(
            signal = name,
            drain_seconds = drain.as_secs(),
            "draining: /health/ready answers 503, other requests are served until the drain ends"
        );
        tokio::select! {
            _ = tokio::time::sleep(drain) => {}
            _ = terminate.recv() => tracing::info!("SIGTERM again: the drain is cut short"),
            _ = interrupt.recv() => tracing::info!("SIGINT again: the drain is cut short"),
        }
    }
    let _ = stopping_since.set(Instant::now());
    tracing::info!(signal = name, "shutting down gracefully");
    let _ = stop_mail_worker.send(true);
}

/// Listens for SIGTERM and SIGINT (each `recv` sees a signal that came after this call).
fn shutdown_signals() -> std::io::Result<(Signal, Signal)> {
    Ok((
        signal(SignalKind::terminate())?,
        signal(SignalKind::interrupt())?,
    ))
}

/// While the copy drains, each answer closes its connection: a client (or proxy) that keeps
/// connections open reconnects for its next request, to a copy that stays if the load balancer
/// has taken this one out, and no idle connection is left to be cut when the drain ends.
async fn close_connections_when_draining(
    request: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let state = request.app_data::<web::Data<AppState>>().cloned();
    let mut response = next.call(request).await?;
    if state.is_some_and(|state| state.draining.is_on()) {
        response
            .response_mut()
            .head_mut()
            .set_connection_type(actix_web::http::ConnectionType::Close);
    }
    Ok(response)
}

/// Blocking threads each HTTP worker may start for `web::block`: together about two per pooled
/// connection, so a connection freed is taken at once, and never fewer than four per worker.
fn blocking_threads_per_worker(pool_size: u32, workers: usize) -> usize {
    ((pool_size as usize * 2).div_ceil(workers.max(1))).max(4)
}

/// Pool plus pending migrations plus the main location plus, in the default profile, the demo
/// clinic.
pub async fn prepare_database(settings: &Settings) -> anyhow::Result<Pool> {
    let pool = db::build_pool(&settings.database.url, settings.database.pool_size)?;
    let seed = settings.demo.seed && !settings.is_production();
    let tz = settings.clinic.timezone;
    let clinic = settings.clinic.clone();
    let blocking_pool = pool.clone();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let mut conn = blocking_pool.get()?;
        let applied = db::run_migrations(&mut conn)?;
        if applied > 0 {
            tracing::info!(applied, "applied database migrations");
        }
        ensure_main_location(&mut conn, &clinic)?;
        // Records the migration made from earlier bookings get their search words here (the
        // folding is Rust's, not SQL's); later ones get them as they are made.
        let indexed = crate::clinic::patients::index_unindexed(&mut conn)?;
        if indexed > 0 {
            tracing::info!(indexed, "indexed patient records for search");
        }
        if seed {
            crate::demo::seed_if_empty(&mut conn, tz, chrono::Utc::now())?;
        }
        Ok(())
    })
    .await??;
    Ok(pool)
}

/// The clinic's configured address becomes the main location on the first start with
/// locations (SQL migrations cannot read settings), and every slot without a location gets it.
/// Later starts leave the locations as staff keep them: the settings are the first draft.
pub fn ensure_main_location(
    conn: &mut db::DbConnection,
    clinic: &crate::settings::ClinicSettings,
) -> anyhow::Result<()> {
    use crate::clinic::locations::{ensure_main, ClinicAddress};
    use crate::domain::location::{LocationFields, LocationInput, TimeZone};
    let mut errors = crate::domain::FieldErrors::default();
    // The settings pass the checks an admin's request would.
    LocationFields::parse(
        LocationInput {
            name: Some(&clinic.name),
            address: Some(&clinic.address),
            phone: Some(&clinic.phone),
            timezone: Some(clinic.timezone.name()),
            active: None,
        },
        true,
        &mut errors,
    );
    if !errors.is_empty() {
        anyhow::bail!(
            "the clinic's settings cannot be its main location ({errors:?});              set APP__CLINIC__NAME, APP__CLINIC__ADDRESS and APP__CLINIC__PHONE"
        );
    }
    let (main, assigned) = ensure_main(
        conn,
        &ClinicAddress {
            name: clinic.name.trim(),
            address: clinic.address.trim(),
            phone: clinic.phone.trim(),
            timezone: TimeZone::new(clinic.timezone),
        },
    )
    .map_err(|e| anyhow::anyhow!("cannot prepare the main location: {e}"))?;
    if assigned > 0 {
        tracing::info!(
            location_id = %main.id,
            slots = assigned,
            "slots without a location are now the main location's"
        );
    }
    Ok(())
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
