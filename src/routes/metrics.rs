//! `GET /metrics`: Prometheus text, for a scraper that presents the configured token or, with
//! no token configured, for a direct loopback peer only.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

use crate::db;
use crate::domain::waitlist::OfferStatus;
use crate::error::ApiError;
use crate::metrics::{Metrics, OutboxSnapshot};
use crate::state::AppState;

/// Headers a reverse proxy adds: a request carrying one came from elsewhere through the proxy,
/// however local its TCP peer is.
const FORWARDING_HEADERS: [&str; 3] = ["forwarded", "x-forwarded-for", "x-real-ip"];

#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "getMetrics",
    summary = "Prometheus metrics",
    tag = "health",
    security(()),
    description = concat!(
        "Prometheus text. When `metrics.token` is configured, send it as `Authorization: Bearer <token>`; ",
        "otherwise only direct loopback peers (no forwarding headers) are answered."
    ),
    responses(
    (status = 200, description = "Prometheus text exposition format 0.0.4", body = String, content_type = "text/plain; version=0.0.4"),
    (status = 401, description = "A token is configured and was not presented"),
    (status = 403, description = "No token is configured and the peer is not local"),
    (status = 404, description = "Metrics are turned off"),
    (status = 503)
    ),
)]
pub(super) async fn metrics(
    req: HttpRequest,
    state: web::Data<AppState>,
    metrics: web::Data<Metrics>,
) -> Result<HttpResponse, ApiError> {
    let settings = &state.settings.metrics;
    if !settings.enabled {
        return Err(ApiError::not_found("metrics"));
    }
    let token = settings.token.expose_secret();
    if token.is_empty() {
        let loopback = req.peer_addr().is_some_and(|a| a.ip().is_loopback());
        let forwarded = FORWARDING_HEADERS
            .iter()
            .any(|h| req.headers().contains_key(*h));
        if !loopback || forwarded {
            return Err(ApiError::Forbidden(
                "metrics are served to loopback peers only unless metrics.token is set".into(),
            ));
        }
    } else if !bearer_matches(&req, token) {
        return Err(ApiError::Unauthorized(
            "send the metrics token as a Bearer token".into(),
        ));
    }

    let outbox = state
        .with_connection(|conn| {
            let now = db::now();
            let (pending, oldest) = db::outbox::due_summary(conn, now)?;
            let failed = db::outbox::count_failed(conn)?;
            let age = oldest.map_or(0, |at| (now - at).num_seconds().max(0));
            Ok::<_, ApiError>(OutboxSnapshot {
                pending,
                oldest_pending_age_seconds: age,
                failed,
            })
        })
        .await?;
    let offers = state
        .with_connection(|conn| {
            let counts = db::waitlist::offer_counts(conn)?;
            Ok::<_, ApiError>(OfferStatus::ALL.map(|status| {
                let count = counts
                    .iter()
                    .find(|(s, _)| *s == status)
                    .map_or(0, |(_, n)| *n);
                (status.as_str(), count)
            }))
        })
        .await?;
    metrics.set_outbox(&outbox);
    metrics.set_waitlist_offers(&offers);
    metrics.set_pool(state.pool.state(), state.pool.max_size());
    let body = metrics.render().map_err(anyhow::Error::from)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, prometheus::TEXT_FORMAT))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

/// Compares digests, so the time taken says nothing about how much of the token matched.
fn bearer_matches(req: &HttpRequest, token: &str) -> bool {
    let Some(presented) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    Sha256::digest(presented.trim().as_bytes()) == Sha256::digest(token.as_bytes())
}
