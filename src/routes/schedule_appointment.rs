//! `GET /api/v1/schedule-appointment`: the article's "Schedule an appointment" button as data:
//! a headline, a short text, the next free times across providers, and how to book one.

use actix_web::{web, HttpResponse};
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};

use super::OpenSlotView;
use crate::db::slots;
use crate::error::ApiError;
use crate::startup::AppState;

const MAX_SLOTS: usize = 50;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CtaQuery {
    provider_id: Option<i64>,
    limit: Option<usize>,
}

#[derive(Serialize)]
struct Clinic<'a> {
    name: &'a str,
    address: &'a str,
    phone: &'a str,
    timezone: &'a str,
}

#[derive(Serialize)]
struct HowToBook {
    method: &'static str,
    url: &'static str,
    content_type: &'static str,
    body: serde_json::Value,
}

#[derive(Serialize)]
struct CallToAction<'a> {
    headline: &'a str,
    text: &'a str,
    clinic: Clinic<'a>,
    items: Vec<OpenSlotView>,
    book: HowToBook,
}

pub async fn show(
    state: web::Data<AppState>,
    query: web::Query<CtaQuery>,
) -> Result<HttpResponse, ApiError> {
    let settings = &state.settings;
    let tz = settings.clinic.timezone;
    let limit = query.limit.unwrap_or(settings.cta.slot_count);
    if !(1..=MAX_SLOTS).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "`limit` must be between 1 and {MAX_SLOTS}"
        )));
    }
    let provider_id = match query.provider_id {
        Some(id) => Some(i32::try_from(id).map_err(|_| ApiError::not_found("provider"))?),
        None => None,
    };
    let now = Utc::now();
    let horizon = now + Duration::days(settings.clinic.booking_horizon_days);
    let found = state
        .with_connection(move |conn| {
            Ok(slots::free_between(
                conn,
                provider_id,
                now.naive_utc(),
                horizon.naive_utc(),
                limit as i64,
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(CallToAction {
        headline: &settings.cta.headline,
        text: &settings.cta.text,
        clinic: Clinic {
            name: &settings.clinic.name,
            address: &settings.clinic.address,
            phone: &settings.clinic.phone,
            timezone: tz.name(),
        },
        items: found.iter().map(|s| OpenSlotView::new(s, tz)).collect(),
        book: HowToBook {
            method: "POST",
            url: "/api/v1/bookings",
            content_type: "application/json",
            body: serde_json::json!({
                "slot_id": "<items[].id>",
                "patient": {"name": "", "email": "", "phone": "(optional)", "date_of_birth": "(optional) YYYY-MM-DD"},
                "reason": "(optional)",
                "source": "(optional) e.g. the article's slug"
            }),
        },
    }))
}
