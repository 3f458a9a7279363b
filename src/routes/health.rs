//! `GET /health`: ok when the database answers.

use actix_web::{web, HttpResponse};
use diesel::connection::SimpleConnection;

use crate::error::ApiError;
use crate::startup::AppState;

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct HealthStatus {
    #[schema(example = "ok")]
    status: &'static str,
}

#[utoipa::path(get, path = "/health", tag = "health", security(()), responses((status = 200, description = "The database answers", body = HealthStatus), (status = 503, description = "The database does not answer", body = crate::error::ProblemDetails, content_type = "application/problem+json")))]
pub async fn health(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state
        .with_connection(|conn| {
            conn.batch_execute("SELECT 1")
                .map_err(|e| ApiError::Unavailable(format!("database: {e}")))
        })
        .await?;
    Ok(HttpResponse::Ok().json(HealthStatus { status: "ok" }))
}
