//! `GET /health`: ok when the database answers.

use actix_web::{web, HttpResponse};
use diesel::connection::SimpleConnection;

use crate::error::ApiError;
use crate::startup::AppState;

pub async fn health(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state
        .with_connection(|conn| {
            conn.batch_execute("SELECT 1")
                .map_err(|e| ApiError::Unavailable(format!("database: {e}")))
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"status": "ok"})))
}
