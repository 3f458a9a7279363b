//! SMART Scheduling Links (the HL7 guide): `GET /fhir/$bulk-publish`, the manifest aggregators
//! poll, and the NDJSON files it lists (Location, Schedule, Slot), streamed a page at a time.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, DurationRound, NaiveDateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use super::{base, fhir_slot, location, schedule, FhirResult};
use crate::clinic::locations::Directory;
use crate::clinic::openings;
use crate::db::locations::Location;
use crate::db::providers::{self, Provider};
use crate::db::slots::{self, AtLocation, OpenBetween, Slot};
use crate::db::visit_types::{self, VisitType};
use crate::db::{self, DbConnection};
use crate::error::ApiError;
use crate::state::AppState;

const BOOKING_DEEP_LINK: &str =
    "http://fhir-registry.smarthealthit.org/StructureDefinition/booking-deep-link";
const BOOKING_PHONE: &str =
    "http://fhir-registry.smarthealthit.org/StructureDefinition/booking-phone";

/// How long aggregators are asked to wait before polling again.
const PUBLISH_MAX_AGE: u32 = 300;

/// The files the manifest lists, by name and resource type.
const PUBLISHED_FILES: [(&str, &str); 3] = [
    ("locations.ndjson", "Location"),
    ("schedules.ndjson", "Schedule"),
    ("slots.ndjson", "Slot"),
];

/// The published window and its version. Free time is published from the first whole hour the
/// minimum notice allows, for the booking horizon: within an hour nothing moves but what staff
/// and patients change, so an aggregator polling every minute mostly hears "not modified".
/// Holds are not published (a time someone is typing for is `free` here, for minutes).
struct Published {
    from: NaiveDateTime,
    until: NaiveDateTime,
    etag: String,
    last_modified: DateTime<Utc>,
}

fn published(state: &AppState, conn: &mut DbConnection) -> Result<Published, ApiError> {
    use sha2::{Digest, Sha256};
    let now = db::now();
    let rules = &state.policy.rules;
    let earliest = now + rules.min_notice;
    let hour = chrono::Duration::hours(1);
    let from =
        earliest
            .duration_trunc(hour)
            .map_or(earliest, |t| if t < earliest { t + hour } else { t });
    let until = from + rules.horizon;
    let version = crate::db::publish::state(conn)?;
    let digest = Sha256::digest(format!("{from}|{version:?}").as_bytes());
    let hour_started = now.duration_trunc(hour).unwrap_or(now);
    let last_modified = version
        .last_change
        .map_or(hour_started, |t| t.max(hour_started))
        .and_utc();
    Ok(Published {
        from,
        until,
        etag: format!("\"{}\"", hex::encode(&digest[..16])),
        last_modified,
    })
}

/// 304 when the client's copy is current (`If-None-Match`, else `If-Modified-Since`).
fn not_modified(req: &HttpRequest, published: &Published) -> bool {
    if let Some(tags) = req.headers().get(header::IF_NONE_MATCH) {
        return tags.to_str().is_ok_and(|t| {
            t.split(',')
                .any(|t| t.trim() == published.etag || t.trim() == "*")
        });
    }
    req.headers()
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
        .is_some_and(|since| published.last_modified.timestamp() <= since.timestamp())
}

fn cache_headers(builder: &mut actix_web::HttpResponseBuilder, published: &Published) {
    builder
        .insert_header((header::ETAG, published.etag.clone()))
        .insert_header((
            header::LAST_MODIFIED,
            published
                .last_modified
                .format("%a, %d %b %Y %H:%M:%S GMT")
                .to_string(),
        ))
        .insert_header((
            header::CACHE_CONTROL,
            format!("public, max-age={PUBLISH_MAX_AGE}"),
        ));
}

/// `GET /fhir/$bulk-publish`: the manifest aggregators start from.
pub(super) async fn bulk_manifest(state: web::Data<AppState>, req: HttpRequest) -> FhirResult {
    let app = state.clone();
    let published = state
        .with_connection(move |conn| published(&app, conn))
        .await?;
    if not_modified(&req, &published) {
        let mut builder = HttpResponse::NotModified();
        cache_headers(&mut builder, &published);
        return Ok(builder.finish());
    }
    let base = base(&req);
    let output: Vec<Value> = PUBLISHED_FILES
        .iter()
        .map(|(file, kind)| {
            json!({"type": kind, "url": format!("{base}/$bulk-publish/{file}"), "extension": {}})
        })
        .collect();
    let body = json!({
        "transactionTime": published.last_modified.to_rfc3339_opts(SecondsFormat::Millis, true),
        "request": format!("{base}/$bulk-publish"),
        "output": output,
        "error": [],
    });
    let mut builder = HttpResponse::Ok();
    cache_headers(&mut builder, &published);
    Ok(builder
        .content_type("application/json")
        .body(body.to_string()))
}

/// One published file: NDJSON, one resource a line, streamed a page at a time (a connection is
/// taken for each page and given back before the page is sent).
pub(super) async fn bulk_file(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> FhirResult {
    let kind = PUBLISHED_FILES
        .iter()
        .find(|(file, _)| *file == path.as_str())
        .map(|(_, kind)| *kind)
        .ok_or_else(|| ApiError::not_found("published file"))?;
    let app = state.clone();
    let published = state
        .with_connection(move |conn| published(&app, conn))
        .await?;
    if not_modified(&req, &published) {
        let mut builder = HttpResponse::NotModified();
        cache_headers(&mut builder, &published);
        return Ok(builder.finish());
    }
    let (sender, receiver) = tokio::sync::mpsc::channel::<web::Bytes>(16);
    let pool = state.pool.clone();
    let booking_url = format!(
        "{}/book",
        state.settings.clinic.public_base_url.trim_end_matches('/')
    );
    let clinic_phone = state.settings.clinic.phone.clone();
    let (from, until) = (published.from, published.until);
    tokio::task::spawn_blocking(move || {
        let write = |lines: Vec<Value>| -> bool {
            let mut chunk = String::new();
            for line in lines {
                chunk.push_str(&line.to_string());
                chunk.push('\n');
            }
            sender.blocking_send(web::Bytes::from(chunk)).is_ok()
        };
        let result = (|| -> Result<(), ApiError> {
            let (schedules, directory) = {
                let mut conn = pool.get()?;
                let directory = Directory::load(&mut conn)?;
                (
                    publishable_schedules(&mut conn, &directory, from)?,
                    directory,
                )
            };
            match kind {
                "Location" => {
                    let lines = directory
                        .places()
                        .iter()
                        .map(|p| location(directory.of(Some(p.id))))
                        .collect();
                    write(lines);
                }
                "Schedule" => {
                    let lines = schedules
                        .iter()
                        .map(|(provider, place, offered)| {
                            schedule(provider, directory.of(Some(place.id)), offered)
                        })
                        .collect();
                    write(lines);
                }
                _ => {
                    let any_types = {
                        let mut conn = pool.get()?;
                        !visit_types::list(&mut conn, true)?.is_empty()
                    };
                    for (provider, place, offered) in &schedules {
                        let location = directory.of(Some(place.id));
                        let phone = if location.phone.trim().is_empty() {
                            clinic_phone.clone()
                        } else {
                            location.phone.clone()
                        };
                        // The starts of each visit type a new patient may book online (a type for
                        // returning patients is not advertised: the guide asks for slots anyone
                        // could book); a clinic without visit types publishes its slots.
                        let kinds: Vec<Option<&VisitType>> = if any_types {
                            offered
                                .iter()
                                .filter(|v| v.new_patients_online)
                                .map(Some)
                                .collect()
                        } else {
                            vec![None]
                        };
                        for kind in kinds {
                            let mut week_start = from;
                            while week_start < until {
                                let week_end = (week_start + chrono::Duration::days(7)).min(until);
                                let open = {
                                    let mut conn = pool.get()?;
                                    // Holds are not published: `now` at the end of time lets
                                    // them by.
                                    let between = OpenBetween {
                                        from: week_start,
                                        until: week_end,
                                        now: NaiveDateTime::MAX,
                                    };
                                    openings::open_times(
                                        &mut conn,
                                        kind,
                                        Some(provider.id),
                                        Some(*place),
                                        between,
                                        10_000,
                                    )?
                                };
                                let lines = open
                                    .iter()
                                    .map(|(slot, _)| {
                                        published_slot(slot, location, kind, (&booking_url, &phone))
                                    })
                                    .collect::<Vec<_>>();
                                if !lines.is_empty() && !write(lines) {
                                    return Ok(());
                                }
                                week_start = week_end;
                            }
                        }
                    }
                }
            }
            Ok(())
        })();
        if let Err(e) = result {
            tracing::warn!(error = %e, "a published file was cut short");
        }
    });
    let body = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver
            .recv()
            .await
            .map(|chunk| (Ok::<_, actix_web::Error>(chunk), receiver))
    });
    let mut builder = HttpResponse::Ok();
    cache_headers(&mut builder, &published);
    Ok(builder
        .content_type("application/fhir+ndjson")
        .streaming(body))
}

/// A published `Slot`: with the deep link that opens `/book` on this time (and visit type), and
/// the phone that books it.
fn published_slot(
    slot: &Slot,
    location: &Location,
    visit_type: Option<&VisitType>,
    (booking_url, phone): (&str, &str),
) -> Value {
    let mut resource = fhir_slot(slot, location, visit_type);
    let start = slot
        .starts_at
        .and_utc()
        .to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut link = format!(
        "{booking_url}?provider_id={}&start={}",
        slot.provider_id,
        start.replace(':', "%3A")
    );
    if let Some(v) = visit_type {
        link.push_str(&format!("&visit_type_id={}", v.id));
    }
    resource["extension"] = json!([
        {"url": BOOKING_DEEP_LINK, "valueUrl": link},
        {"url": BOOKING_PHONE, "valueString": phone},
    ]);
    resource
}

/// The schedules to publish: each active provider at each active location where they have time
/// in the published window, with the visit types they offer.
pub(super) fn publishable_schedules(
    conn: &mut DbConnection,
    directory: &Directory,
    from: NaiveDateTime,
) -> Result<Vec<(Provider, AtLocation, Vec<VisitType>)>, ApiError> {
    let all_types = visit_types::list(conn, true)?;
    let offers = visit_types::offers(conn)?;
    let mut found = Vec::new();
    for provider in providers::list_active(conn)? {
        let offered: Vec<VisitType> = all_types
            .iter()
            .filter(|v| offers.contains(&(v.id, provider.id)))
            .cloned()
            .collect();
        for place in directory.places() {
            if slots::has_time_from(conn, provider.id, place, from)? {
                found.push((provider.clone(), place, offered.clone()));
            }
        }
    }
    Ok(found)
}
