//! Public provider listings.

use actix_web::{web, HttpResponse};
use serde::Serialize;

use crate::db::providers::{self, Provider};
use crate::error::ApiError;
use crate::startup::AppState;

#[derive(Serialize)]
pub struct ProviderView {
    id: i32,
    name: String,
    title: String,
    specialty: String,
    bio: String,
    active: bool,
}

impl From<Provider> for ProviderView {
    fn from(p: Provider) -> Self {
        Self {
            id: p.id,
            name: p.name,
            title: p.title,
            specialty: p.specialty,
            bio: p.bio,
            active: p.active,
        }
    }
}

pub async fn list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let items = state
        .with_connection(|conn| Ok(providers::list_active(conn)?))
        .await?;
    let items: Vec<ProviderView> = items.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

pub async fn show(
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = i32::try_from(path.into_inner()).map_err(|_| ApiError::not_found("provider"))?;
    let provider = state
        .with_connection(move |conn| Ok(providers::find(conn, id)?))
        .await?
        .filter(|p| p.active)
        .ok_or_else(|| ApiError::not_found("provider"))?;
    Ok(HttpResponse::Ok().json(ProviderView::from(provider)))
}
