//! `GET /api/v1/slots`: free slots in a window, ordered by start.

use actix_web::{web, HttpResponse};
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{rfc3339, OpenSlotView};
use crate::db::slots;
use crate::domain::slot::{parse_instant, TimeWindow};
use crate::error::ApiError;
use crate::startup::AppState;

const DEFAULT_WINDOW_DAYS: i64 = 14;
const DEFAULT_LIMIT: i64 = 500;
const MAX_LIMIT: i64 = 2000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotQuery {
    provider_id: Option<i64>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<i64>,
}

#[derive(Serialize)]
struct SlotList {
    items: Vec<OpenSlotView>,
    from: String,
    to: String,
    /// Where to continue when `limit` cut the list short.
    next_from: Option<String>,
}

pub async fn list_free(
    state: web::Data<AppState>,
    query: web::Query<SlotQuery>,
) -> Result<HttpResponse, ApiError> {
    let tz = state.settings.clinic.timezone;
    let query = query.into_inner();
    let now = Utc::now();
    let from = match &query.from {
        Some(from) => {
            parse_instant(from, tz).map_err(|m| ApiError::BadRequest(format!("`from` {m}")))?
        }
        None => now,
    };
    let to = match &query.to {
        Some(to) => parse_instant(to, tz).map_err(|m| ApiError::BadRequest(format!("`to` {m}")))?,
        None => from + Duration::days(DEFAULT_WINDOW_DAYS),
    };
    let window = TimeWindow::search(from, to).map_err(ApiError::BadRequest)?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "`limit` must be between 1 and {MAX_LIMIT}"
        )));
    }
    let provider_id = match query.provider_id {
        Some(id) => Some(i32::try_from(id).map_err(|_| ApiError::not_found("provider"))?),
        None => None,
    };
    // Slots that have started are not bookable, whatever window was asked for.
    let start = window.start().max(now).naive_utc();
    let end = window.end().naive_utc();
    let mut found = state
        .with_connection(move |conn| {
            if let Some(id) = provider_id {
                crate::db::providers::find(conn, id)?
                    .filter(|p| p.active)
                    .ok_or_else(|| ApiError::not_found("provider"))?;
            }
            Ok(slots::free_between(
                conn,
                provider_id,
                start,
                end,
                limit + 1,
            )?)
        })
        .await?;
    let next_from = if found.len() as i64 > limit {
        found
            .pop()
            .map(|(slot, _)| rfc3339(slot.starts_at.and_utc()))
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(SlotList {
        items: found.iter().map(|s| OpenSlotView::new(s, tz)).collect(),
        from: rfc3339(window.start()),
        to: rfc3339(window.end()),
        next_from,
    }))
}
