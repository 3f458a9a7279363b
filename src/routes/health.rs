//! Probes: `GET /health` (the contract: ok when the database answers), `GET /health/live` (the
//! process serves HTTP) and `GET /health/ready` (the database answers and its schema is the one
//! this build expects, so a load balancer sends no traffic to a copy that cannot serve it; and
//! not while the copy drains before it stops).

use actix_web::{web, HttpResponse};
use diesel::connection::SimpleConnection;

use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(serde::Serialize, utoipa::ToSchema)]
pub(super) struct HealthStatus {
    status: Health,
}

/// `ok` from `/health` and `/health/live`, `ready` from `/health/ready`.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
enum Health {
    Ok,
    Ready,
}

#[utoipa::path(
    get,
    path = "/health",
    operation_id = "getHealth",
    summary = "Health",
    description = "`ok` when the database answers.",
    tag = "health",
    security(()),
    responses(
        (status = 200, description = "The database answers", body = HealthStatus),
        (status = 503),
    ),
)]
pub(super) async fn health(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state
        .with_connection(|conn| {
            conn.batch_execute("SELECT 1")
                .map_err(|e| ApiError::Unavailable(format!("database: {e}")))
        })
        .await?;
    Ok(HttpResponse::Ok().json(HealthStatus { status: Health::Ok }))
}

/// Never touches the database: a restart cures nothing a database outage causes.
#[utoipa::path(
    get,
    path = "/health/live",
    operation_id = "getLiveness",
    summary = "Liveness",
    description = "The process serves HTTP; the database is not consulted.",
    tag = "health",
    security(()),
    responses(
        (status = 200, description = "The process serves HTTP (the database is not consulted)", body = HealthStatus),
    ),
)]
pub(super) async fn live() -> HttpResponse {
    HttpResponse::Ok().json(HealthStatus { status: Health::Ok })
}

#[utoipa::path(
    get,
    path = "/health/ready",
    operation_id = "getReadiness",
    summary = "Readiness",
    description = "Ready for traffic: the database answers and its migrations are applied.",
    tag = "health",
    security(()),
    responses(
        (status = 200, description = "The database answers and every migration this build knows is applied", body = HealthStatus),
        (status = 503, description = "The database does not answer, migrations are pending, or this copy is shutting down (it still serves other requests while it drains)"),
    ),
)]
pub(super) async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if state.draining.is_on() {
        return Err(ApiError::Unavailable(
            "shutting down: this copy drains and takes no new traffic".into(),
        ));
    }
    state
        .with_connection(|conn| match db::migrations_current(conn) {
            Ok(true) => Ok(()),
            Ok(false) => Err(ApiError::Unavailable(
                "database migrations are pending; run `clinic-booking migrate`".into(),
            )),
            Err(e) => Err(ApiError::Unavailable(format!("database: {e:#}"))),
        })
        .await?;
    Ok(HttpResponse::Ok().json(HealthStatus {
        status: Health::Ready,
    }))
}
