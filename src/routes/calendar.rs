//! Providers' calendar subscriptions: `POST`/`DELETE /api/v1/providers/{id}/calendar-feed`
//! (an admin, or the provider's own account) make, replace or end the secret feed URL, and
//! `GET /calendar/{token}.ics` is the feed Google Calendar, Outlook and Apple Calendar poll: the
//! provider's visits from a week ago on, cancelled ones gone, with an `ETag` so a poll that finds
//! nothing new is a 304.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{Duration, SecondsFormat};
use icalendar::{Calendar, Component, Event, EventLike, EventStatus};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::clinic::appointments::BookingDetails;
use crate::clinic::calendar_feeds;
use crate::db;
use crate::domain::feed::FeedToken;
use crate::domain::ids::ProviderId;
use crate::error::ApiError;
use crate::routes::access::AnyStaff;
use crate::state::AppState;

/// How often calendar apps are asked to poll.
const REFRESH_MINUTES: i64 = 15;

/// Feeds built at once. A feed holds a provider's visits for a year or more, and building one is
/// work for a core: past two at a time, more only wait, and each would hold its rows in memory
/// while it waited (the benchmark's 32 pollers took the server from 73 to 173 MiB).
static BUILDING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct CalendarFeedView {
    #[schema(value_type = i64)]
    provider_id: i32,
    /// The subscription URL: add it to a calendar app ("subscribe from URL"). It is a secret,
    /// shown this once; making a new one ends the old.
    #[schema(format = "uri", max_length = 2100)]
    url: String,
    /// The same feed over `webcal:`, which calendar apps open directly.
    #[schema(format = "uri", max_length = 2100)]
    webcal_url: String,
    #[schema(format = DateTime)]
    created_at: String,
}

fn provider_id(raw: i64) -> Result<ProviderId, ApiError> {
    ProviderId::try_from(raw).map_err(|_| ApiError::not_found("provider"))
}

/// 403 unless the staff member manages this provider's feed.
async fn manager(state: &AppState, staff: &AnyStaff, provider: ProviderId) -> Result<(), ApiError> {
    let identity = staff.identity.clone();
    let allowed = state
        .with_connection(move |conn| calendar_feeds::may_manage(conn, &identity, provider))
        .await?;
    if allowed {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "an admin, or the provider's own account, manages a provider's calendar feed".into(),
        ))
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/providers/{id}/calendar-feed",
    operation_id = "rotateCalendarFeed",
    summary = "Make or replace a provider's calendar feed",
    description = "Makes the secret iCalendar subscription URL of the provider's visits (`/calendar/{token}.ics`), \
replacing the one before, which stops working at once. The URL is answered this once. An admin, or the provider's own account.",
    tag = "staff",
    security(("staff_jwt" = [])),
    params(("id" = i64, Path, description = "The provider's id", minimum = 1, maximum = 2147483647)),
    responses(
        (status = 200, description = "The new subscription URL", body = CalendarFeedView),
        (status = 401),
        (status = 403),
        (status = 404, description = "No such provider"),
    ),
)]
pub(super) async fn rotate(
    state: web::Data<AppState>,
    staff: AnyStaff,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let provider = provider_id(path.into_inner())?;
    manager(&state, &staff, provider).await?;
    let actor = staff.actor();
    let (token, now) = state
        .with_connection(move |conn| {
            db::write_transaction(conn, |conn| {
                let now = db::now();
                Ok::<_, ApiError>((calendar_feeds::rotate(conn, provider, &actor, now)?, now))
            })
        })
        .await?;
    let base = state.settings.clinic.public_base_url.trim_end_matches('/');
    let url = format!("{base}/calendar/{}.ics", token.expose());
    let webcal_url = match url.split_once("://") {
        Some((_, rest)) => format!("webcal://{rest}"),
        None => url.clone(),
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(CalendarFeedView {
            provider_id: provider.get(),
            url,
            webcal_url,
            created_at: now.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true),
        }))
}

#[utoipa::path(
    delete,
    path = "/api/v1/providers/{id}/calendar-feed",
    operation_id = "deleteCalendarFeed",
    summary = "End a provider's calendar feed",
    description = "Its URL answers 404 from now on. An admin, or the provider's own account.",
    tag = "staff",
    security(("staff_jwt" = [])),
    params(("id" = i64, Path, description = "The provider's id", minimum = 1, maximum = 2147483647)),
    responses(
        (status = 204, description = "Ended"),
        (status = 401),
        (status = 403),
        (status = 404, description = "No such provider, or it has no feed"),
    ),
)]
pub(super) async fn revoke(
    state: web::Data<AppState>,
    staff: AnyStaff,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let provider = provider_id(path.into_inner())?;
    manager(&state, &staff, provider).await?;
    let actor = staff.actor();
    state
        .with_connection(move |conn| {
            db::write_transaction(conn, |conn| {
                calendar_feeds::revoke(conn, provider, &actor, db::now())
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// One visit as a calendar event: the UID stays the booking's through every change.
fn event(details: &BookingDetails, host: &str, with_names: bool) -> Event {
    let booking = &details.booking;
    let kind = details
        .visit_type
        .as_ref()
        .map_or("Visit".to_owned(), |v| v.name.clone());
    let summary = if with_names {
        format!("{}: {kind}", booking.patient_name)
    } else {
        format!("{kind} ({})", booking.reference)
    };
    let location = &details.location;
    let place = if location.address.trim().is_empty() {
        location.name.clone()
    } else {
        format!("{}, {}", location.name, location.address)
    };
    let description = format!(
        "Booking {} · {kind}, {} minutes · {} · status: {}",
        booking.reference,
        (details.slot.ends_at - details.slot.starts_at).num_minutes(),
        location.name,
        booking.status
    );
    let mut event = Event::new();
    event
        .uid(&format!("{}@{host}", booking.reference))
        .timestamp(booking.updated_at.and_utc())
        .last_modified(booking.updated_at.and_utc())
        .created(booking.created_at.and_utc())
        .starts(details.slot.starts_at.and_utc())
        .ends(details.slot.ends_at.and_utc())
        .summary(&summary)
        .location(&place)
        .description(&description)
        .status(EventStatus::Confirmed);
    event.done()
}

#[utoipa::path(
    get,
    path = "/calendar/{file}",
    operation_id = "getCalendarFeed",
    summary = "A provider's calendar feed",
    description = "The iCalendar (RFC 5545) subscription of one provider's visits, from a week ago on: visit type, \
location and booking reference, the patient's name only if the clinic turns that on (`APP__CALENDAR__INCLUDE_PATIENT_NAMES`). \
Cancelled visits leave it; a moved visit keeps its UID. `ETag` and `If-None-Match` make an unchanged poll a 304. \
The file name is the feed's secret token and `.ics`; anything else is a 404.",
    tag = "pages",
    security(()),
    params(("file" = String, Path, description = "The token and `.ics`", pattern = "^[A-Za-z0-9_-]{43}\\.ics$", max_length = 47)),
    responses(
        (status = 200, description = "The feed", content_type = "text/calendar", body = String),
        (status = 304, description = "Unchanged since the ETag sent"),
        (status = 404, description = "No such feed"),
    ),
)]
pub(super) async fn feed(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let token = path
        .strip_suffix(".ics")
        .and_then(FeedToken::parse)
        .ok_or_else(|| ApiError::not_found("calendar feed"))?;
    let from = db::now() - Duration::days(state.settings.calendar.past_days);
    let _turn = BUILDING
        .acquire()
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    let found = state
        .with_connection(move |conn| calendar_feeds::visits(conn, &token, from))
        .await?;
    let (provider, visits) = found.ok_or_else(|| ApiError::not_found("calendar feed"))?;
    let settings = &state.settings;
    let host = url::Url::parse(&settings.clinic.public_base_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "clinic-booking.invalid".to_owned());
    let mut calendar = Calendar::new();
    calendar
        .name(&format!("{}: {}", settings.clinic.name, provider.name))
        .timezone(settings.clinic.timezone.name())
        .ttl(&Duration::minutes(REFRESH_MINUTES));
    for visit in &visits {
        calendar.push(event(visit, &host, settings.calendar.include_patient_names));
    }
    let body = calendar.done().to_string();
    let etag = format!(
        "\"{}\"",
        hex::encode(&Sha256::digest(body.as_bytes())[..16])
    );
    let unchanged = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .any(|t| t.trim().trim_start_matches("W/") == etag)
        });
    let mut answer = HttpResponse::build(if unchanged {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::OK
    });
    answer
        .insert_header((header::ETAG, etag))
        // The feed names patients' visits: no shared cache keeps it.
        .insert_header((header::CACHE_CONTROL, "private, no-cache"));
    if unchanged {
        return Ok(answer.finish());
    }
    Ok(answer
        .content_type("text/calendar; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "inline; filename=\"visits.ics\"",
        ))
        .body(body))
}
