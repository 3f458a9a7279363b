//! `Idempotency-Key`: a client that retries a request (a patient's phone losing its connection
//! after "Book") gets the first answer again, never a second booking. The key is read from the
//! header, reserved inside the write transaction of the work it guards, and saved with that
//! work's answer; the same key with another request is refused; saved answers are forgotten after
//! a day.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::db::idempotency_keys::{self, KeyState};
use crate::db::{self, DbConnection, Pool};
use crate::error::ApiError;
use crate::state::AppState;

pub(crate) const HEADER: &str = "Idempotency-Key";

/// How long a saved answer is replayed. Clients retry within minutes; the saved answer holds
/// patient details and a manage token, so it is not kept for ever.
const KEEP_HOURS: i64 = 24;

/// The `Idempotency-Key` header, if sent: 1 to 255 visible ASCII characters.
pub(crate) fn key_of(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get(HEADER) else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "{HEADER} must be 1 to 255 visible ASCII characters"
            ))
        })?;
    Ok(Some(key.to_owned()))
}

/// What identifies a request under a key: the endpoint's scope and the body as parsed.
fn fingerprint<B: Serialize>(scope: &str, body: &B) -> Result<String, ApiError> {
    let mut hasher = Sha256::new();
    hasher.update(scope.as_bytes());
    hasher.update(serde_json::to_vec(body).map_err(anyhow::Error::from)?);
    Ok(hex::encode(hasher.finalize()))
}

/// An answer to a guarded request.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: String,
    /// False when this is a saved answer replayed: the work was done by an earlier request.
    pub(crate) fresh: bool,
}

impl Answer {
    pub(crate) fn into_response(self) -> HttpResponse {
        HttpResponse::build(self.status)
            .content_type("application/json")
            .insert_header(("Cache-Control", "no-store"))
            .body(self.body)
    }
}

/// A read that may turn a request away before its write transaction.
pub(crate) type Screen = fn(&mut DbConnection, NaiveDateTime) -> Result<(), ApiError>;

/// For callers with nothing to check before the write.
pub(crate) const NO_SCREEN: Option<Screen> = None;

/// Runs `work` (which answers `status` with a JSON body) once per key: the same key and body
/// replay the first answer, the same key with another body is a 422, and without a key every
/// request runs anew. `scope` keeps the keys of different endpoints (and of staff and public
/// callers) apart. `screen`, a read that may turn the request away early, runs before the write
/// transaction when there is no key (with a key, a replay must answer first).
pub(crate) async fn run_once<B, S, W>(
    req: &HttpRequest,
    state: &AppState,
    scope: &'static str,
    body: &B,
    status: StatusCode,
    screen: Option<S>,
    work: W,
) -> Result<Answer, ApiError>
where
    B: Serialize,
    S: FnOnce(&mut DbConnection, NaiveDateTime) -> Result<(), ApiError> + Send + 'static,
    W: FnOnce(&mut DbConnection, NaiveDateTime) -> Result<String, ApiError> + Send + 'static,
{
    run_once_keyed(key_of(req)?, state, scope, body, status, screen, work).await
}

/// `run_once` under a key the caller read (FHIR's `If-None-Exist` names its own).
pub(crate) async fn run_once_keyed<B, S, W>(
    key: Option<String>,
    state: &AppState,
    scope: &'static str,
    body: &B,
    status: StatusCode,
    screen: Option<S>,
    work: W,
) -> Result<Answer, ApiError>
where
    B: Serialize,
    S: FnOnce(&mut DbConnection, NaiveDateTime) -> Result<(), ApiError> + Send + 'static,
    W: FnOnce(&mut DbConnection, NaiveDateTime) -> Result<String, ApiError> + Send + 'static,
{
    let request_hash = fingerprint(scope, body)?;
    state
        .with_connection(move |conn| {
            if let (None, Some(screen)) = (&key, screen) {
                screen(conn, db::now())?;
            }
            db::write_transaction(conn, |conn| {
                let now = db::now();
                if let Some(key) = &key {
                    match idempotency_keys::reserve(conn, key, &request_hash, now)? {
                        KeyState::Reserved => {}
                        KeyState::Replay { status, body } => {
                            return Ok(Answer {
                                status: StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
                                body,
                                fresh: false,
                            })
                        }
                        KeyState::Mismatch => {
                            return Err(ApiError::Unprocessable(format!(
                                "this {HEADER} was already used for a different request"
                            )))
                        }
                    }
                }
                let body = work(conn, now)?;
                if let Some(key) = &key {
                    idempotency_keys::save(conn, key, status.as_u16(), &body)?;
                }
                Ok(Answer {
                    status,
                    body,
                    fresh: true,
                })
            })
        })
        .await
}

/// Deletes saved answers older than a day, hourly, until `stopped` turns true.
pub(crate) async fn forget_old_keys(pool: Pool, mut stopped: watch::Receiver<bool>) {
    let mut every_hour = tokio::time::interval(std::time::Duration::from_secs(3600));
    while !*stopped.borrow() {
        tokio::select! {
            _ = every_hour.tick() => {}
            _ = stopped.changed() => break,
        }
        let pool = pool.clone();
        let purged = tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
            let before = db::now() - chrono::Duration::hours(KEEP_HOURS);
            Ok(idempotency_keys::purge_older_than(
                &mut *pool.get()?,
                before,
            )?)
        })
        .await;
        match purged {
            Ok(Ok(0)) => {}
            Ok(Ok(count)) => tracing::info!(count, "forgot old idempotency keys"),
            Ok(Err(e)) => {
                tracing::warn!(error = format!("{e:#}"), "could not purge idempotency keys")
            }
            Err(e) => tracing::warn!(error = %e, "idempotency purge task failed"),
        }
    }
}
