//! SMART Scheduling Links (the HL7 guide): `GET /fhir/$bulk-publish`, the manifest aggregators
//! poll, and the NDJSON files it lists (Location, Schedule, Slot), streamed a page at a time.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, DurationRound, NaiveDateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use super::{base, fhir_slot, location, schedule, states_of, FhirResult};
use crate::clinic::locations::Directory;
use crate::clinic::{openings, rules};
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

/// What is published, and its version. Free time of each kind (a visit type's starts, or the
/// slots of a clinic without visit types) is published within the booking rules of that kind,
/// both ends rounded inward to whole hours (`window`): within an hour nothing moves but what
/// staff and patients change, so an aggregator polling every minute mostly hears "not
/// modified". Holds are not published (a time someone is typing for is `free` here, for
/// minutes).
struct Published {
    etag: String,
    last_modified: DateTime<Utc>,
}

/// The published window of `kind` at `now`: from the first whole hour its notice allows to the
/// last whole hour its horizon does.
fn window(
    policy: &crate::clinic::rules::BookingPolicy,
    kind: Option<&VisitType>,
    now: NaiveDateTime,
) -> (NaiveDateTime, NaiveDateTime) {
    let hour = chrono::Duration::hours(1);
    let (earliest, horizon) = rules::bookable_window(policy, kind, now);
    let from =
        earliest
            .duration_trunc(hour)
            .map_or(earliest, |t| if t < earliest { t + hour } else { t });
    let until = horizon.duration_trunc(hour).unwrap_or(horizon);
    (from, until)
}

/// The kinds of free time published: each visit type new patients may book online (a type for
/// returning patients is not advertised: the guide asks for slots anyone could book), or, in a
/// clinic without visit types, its slots.
fn kinds(types: &[VisitType]) -> Vec<Option<&VisitType>> {
    if types.is_empty() {
        vec![None]
    } else {
        types
            .iter()
            .filter(|v| v.new_patients_online)
            .map(Some)
            .collect()
    }
}

fn published(state: &AppState, conn: &mut DbConnection) -> Result<Published, ApiError> {
    use sha2::{Digest, Sha256};
    let now = db::now();
    let types = visit_types::list(conn, true)?;
    let windows: Vec<(NaiveDateTime, NaiveDateTime)> = kinds(&types)
        .into_iter()
        .map(|kind| window(&state.policy, kind, now))
        .collect();
    let version = crate::db::publish::state(conn)?;
    let clinic = &state.settings.clinic;
    let digest = Sha256::digest(
        format!(
            "{windows:?}|{version:?}|{}|{}",
            clinic.public_base_url, clinic.phone
        )
        .as_bytes(),
    );
    let hour = chrono::Duration::hours(1);
    let hour_started = now.duration_trunc(hour).unwrap_or(now);
    let last_modified = version
        .last_change
        .map_or(hour_started, |t| t.max(hour_started))
        .and_utc();
    Ok(Published {
        etag: format!("\"{}\"", hex::encode(&digest[..16])),
        last_modified,
    })
}

/// 304 when the client's copy is current (`If-None-Match`, compared weakly as RFC 9110 says for
/// it: a proxy that compresses marks the tag weak; else `If-Modified-Since`).
fn not_modified(req: &HttpRequest, published: &Published) -> bool {
    if let Some(tags) = req.headers().get(header::IF_NONE_MATCH) {
        return tags.to_str().is_ok_and(|t| {
            t.split(',').any(|t| {
                let t = t.trim();
                t == "*" || t.trim_start_matches("W/") == published.etag
            })
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
    // Each file covers the published locations: their states are its hint for aggregators.
    let directory = state.with_connection(Directory::load).await?;
    let places = directory.places();
    let extension = match states_of(places.iter().map(|p| directory.of(Some(p.id)))) {
        Some(states) => json!({"state": states}),
        None => json!({}),
    };
    let base = base(&state);
    let output: Vec<Value> = PUBLISHED_FILES
        .iter()
        .map(|(file, kind)| {
            json!({"type": kind, "url": format!("{base}/$bulk-publish/{file}"), "extension": extension})
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

/// How long a reader may leave a published file's next chunk waiting before the server stops
/// writing it (a client that keeps the connection open but reads nothing).
const SEND_PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);

/// One published file: NDJSON, one resource a line, streamed a page at a time: the Slot file a
/// provider's week of one kind per page, each read on a connection taken for it and given back
/// before the page is sent. What the file starts from is read before the answer starts, so
/// that failing is a 5xx; a read failing later cuts the response off as an error, never as a
/// shorter file that looks whole (and would be cached).
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
    let (published, directory, schedules, types) = state
        .with_connection(move |conn| {
            let published = published(&app, conn)?;
            let directory = Directory::load(conn)?;
            let types = visit_types::list(conn, true)?;
            let earliest = kinds(&types)
                .into_iter()
                .map(|k| window(&app.policy, k, db::now()).0)
                .min()
                .unwrap_or_else(db::now);
            let schedules = publishable_schedules(conn, &directory, earliest)?;
            Ok::<_, ApiError>((published, directory, schedules, types))
        })
        .await?;
    if not_modified(&req, &published) {
        let mut builder = HttpResponse::NotModified();
        cache_headers(&mut builder, &published);
        return Ok(builder.finish());
    }
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<web::Bytes, std::io::Error>>(16);
    let pool = state.pool.clone();
    let policy = state.policy.clone();
    let booking_url = format!(
        "{}/book",
        state.settings.clinic.public_base_url.trim_end_matches('/')
    );
    let clinic_phone = state.settings.clinic.phone.clone();
    let site = state.settings.clinic.public_base_url.clone();
    tokio::task::spawn_blocking(move || {
        // False when the reader is gone, or reads nothing for `SEND_PATIENCE`.
        let send = |chunk: Result<web::Bytes, std::io::Error>| -> bool {
            let began = std::time::Instant::now();
            let mut chunk = chunk;
            loop {
                match sender.try_send(chunk) {
                    Ok(()) => return true,
                    Err(tokio::sync::mpsc::error::TrySendError::Full(back)) => {
                        if began.elapsed() > SEND_PATIENCE {
                            return false;
                        }
                        chunk = back;
                        std::thread::sleep(std::time::Duration::from_millis(20));
                    }
                    Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) => return false,
                }
            }
        };
        let write = |lines: Vec<Value>| -> bool {
            let mut chunk = String::new();
            for line in lines {
                chunk.push_str(&line.to_string());
                chunk.push('\n');
            }
            send(Ok(web::Bytes::from(chunk)))
        };
        let result = (|| -> Result<(), ApiError> {
            match kind {
                "Location" => {
                    let lines = directory
                        .places()
                        .iter()
                        .map(|p| location(directory.of(Some(p.id)), &site))
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
                    let now = db::now();
                    for (provider, place, _) in &schedules {
                        let location = directory.of(Some(place.id));
                        let phone = if location.phone.trim().is_empty() {
                            clinic_phone.clone()
                        } else {
                            location.phone.clone()
                        };
                        for kind in kinds(&types) {
                            if let Some(v) = kind {
                                let mut conn = pool.get()?;
                                if !visit_types::is_offered_by(&mut conn, v.id, provider.id)? {
                                    continue;
                                }
                            }
                            let (from, until) = window(&policy, kind, now);
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
            send(Err(std::io::Error::other(
                "the published file could not be read to its end",
            )));
        }
    });
    let body = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| {
            (
                chunk.map_err(actix_web::error::ErrorInternalServerError),
                receiver,
            )
        })
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
