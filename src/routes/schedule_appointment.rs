//! `GET /api/v1/schedule-appointment`: the article's "Schedule an appointment" button as data:
//! a headline, a short text, the next free times across providers, and how to book one; and
//! the button itself, which books the earliest time that fits.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::openapi::schema::Object;

use super::bookings::booking_answered;
use super::patient_form::{
    accepted_language, honeypot_schema, parse_patient, parse_reason_field, parse_source_field,
    parse_visit_type_field, reject_bots, PatientBody,
};
use super::views::{
    instant_or_date, json_body, names_schema, new_booking_example, new_booking_json,
    open_slot_example, or_null, public_source, requested_id, time_zone_schema, OpenSlotJson,
    OpenSlotView, PublicSource,
};
use crate::availability::AnswerKey;
use crate::clinic::appointments::{self, EarliestRequest, Intake};
use crate::clinic::locations::{self, Directory};
use crate::clinic::openings;
use crate::clinic::rules;
use crate::db::slots::OpenBetween;
use crate::db::{providers, slots};
use crate::domain::actor::Actor;
use crate::domain::booking::BookingSource;
use crate::domain::ids::{LocationId, ProviderId, VisitTypeId};
use crate::domain::intake::Concern;
use crate::domain::slot::parse_instant;
use crate::domain::FieldErrors;
use crate::error::ApiError;
use crate::idempotency::{self, NO_SCREEN};
use crate::state::AppState;

pub(super) const MAX_SLOTS: usize = 50;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct CtaQuery {
    /// Only this provider's times.
    #[param(minimum = 1, maximum = 2147483647)]
    provider_id: Option<i64>,
    /// Only times where this visit type (`GET /api/v1/visit-types`) fits; book them with the
    /// same `visit_type_id`.
    #[param(minimum = 1, maximum = 2147483647)]
    visit_type_id: Option<i64>,
    /// Only times at this location (`GET /api/v1/locations`).
    #[param(minimum = 1, maximum = 2147483647)]
    location_id: Option<i64>,
    /// Only slots carrying this label (a slot's `visit_type`, set by the front desk).
    #[param(max_length = 64)]
    visit_type: Option<String>,
    /// The page showing the call to action (e.g. the article's slug): filled into `book`'s
    /// body so its bookings are attributed to it.
    #[param(value_type = Option<PublicSource>, inline)]
    source: Option<String>,
    /// How many times to offer (default: the configured count).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 50)]
    limit: Option<usize>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Clinic<'a> {
    name: &'a str,
    address: &'a str,
    phone: &'a str,
    #[schema(schema_with = time_zone_schema)]
    timezone: &'a str,
}

/// Both ways to book are a JSON POST.
const BOOK_METHOD: &str = "POST";
const BOOK_CONTENT_TYPE: &str = "application/json";

#[derive(Serialize, utoipa::ToSchema)]
struct HowToBook {
    #[schema(schema_with = book_method_schema)]
    method: &'static str,
    /// The path to send it to, on this server.
    #[schema(format = "uri-reference")]
    url: &'static str,
    #[schema(schema_with = book_content_type_schema)]
    content_type: &'static str,
    body: Value,
}

impl HowToBook {
    /// `POST /api/v1/bookings` with one of the offered slots; `source` is what the page said.
    fn book(source: Value) -> Self {
        Self {
            method: BOOK_METHOD,
            url: "/api/v1/bookings",
            content_type: BOOK_CONTENT_TYPE,
            body: json!({
                "slot_id": "<items[].id>",
                "visit_type_id": "(optional) the visit_type_id the offer was asked for",
                "patient": {"name": "", "email": "", "phone": "(optional)", "date_of_birth": "(optional) YYYY-MM-DD"},
                "reason": "(optional)",
                "source": source,
            }),
        }
    }

    /// `POST /api/v1/schedule-appointment`: the earliest time that fits.
    fn book_earliest(source: Value) -> Self {
        Self {
            method: BOOK_METHOD,
            url: "/api/v1/schedule-appointment",
            content_type: BOOK_CONTENT_TYPE,
            body: json!({
                "patient": {"name": "", "email": "", "phone": "(optional)"},
                "concern": {"area": "lower_back | upper_back | neck | other", "onset": "gradual | sudden", "red_flags": ["numbness | tingling | weakness | severe_pain"]},
                "provider_id": "(optional)",
                "visit_type_id": "(optional) from GET /api/v1/visit-types",
                "location_id": "(optional) from GET /api/v1/locations",
                "not_before": "(optional) date or instant",
                "source": source,
            }),
        }
    }
}

/// What `book`'s body says of the source when the page named none.
fn no_source_hint() -> Value {
    json!("(optional) e.g. the article's slug")
}

/// The document's example of the call to action: the default texts and the demo clinic.
fn call_to_action_example() -> Value {
    json!({
        "headline": "Schedule an appointment",
        "text": "Start your journey toward a pain-free future: pick a time that suits you and we will confirm it by email.",
        "clinic": {
            "name": "Desert Spine & Pain Clinic",
            "address": "4410 N 7th St, Suite 200, Phoenix, AZ 85014",
            "phone": "+1 (602) 555-0134",
            "timezone": "America/Phoenix"
        },
        "items": [open_slot_example(42, 9), open_slot_example(43, 10)],
        "book": HowToBook::book(no_source_hint()),
        "book_earliest": HowToBook::book_earliest(no_source_hint()),
    })
}

fn book_method_schema() -> Object {
    names_schema([BOOK_METHOD]).build()
}

fn book_content_type_schema() -> Object {
    names_schema([BOOK_CONTENT_TYPE]).build()
}

#[derive(Serialize, utoipa::ToSchema)]
struct CallToAction<'a> {
    headline: &'a str,
    text: &'a str,
    clinic: Clinic<'a>,
    #[schema(max_items = 50, value_type = Vec<OpenSlotView>)]
    items: Vec<OpenSlotJson<'a>>,
    /// Book one of `items`.
    book: HowToBook,
    /// Or let the clinic pick the earliest time that fits.
    book_earliest: HowToBook,
}

#[utoipa::path(
    get,
    path = "/api/v1/schedule-appointment",
    operation_id = "getCallToAction",
    summary = "The call to action",
    description = "What an article's \"Schedule an appointment\" button shows: headline, text, the clinic, the next free times and how to book.",
    tag = "schedule-appointment",
    security(()),
    params(CtaQuery),
    responses(
        (status = 200, description = "Headline, text and the next free times", body = CallToAction, example = call_to_action_example),
        (status = 400),
        (status = 404, description = "No such provider, visit type or location"),
    ),
)]
pub(super) async fn show(
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
    let provider_id: Option<ProviderId> = requested_id(query.provider_id, "provider")?;
    let visit_type = match query.visit_type.as_deref().map(str::trim) {
        Some(v) if v.is_empty() || v.len() > 64 || v.chars().any(char::is_control) => {
            return Err(ApiError::BadRequest(
                "`visit_type` must be 1 to 64 characters".into(),
            ))
        }
        v => v.map(str::to_owned),
    };
    let source = match query.source.as_deref() {
        Some(s) => Some(
            BookingSource::parse_public(s)
                .map_err(|m| ApiError::BadRequest(format!("`source`: {m}")))?,
        ),
        None => None,
    };
    let now = Utc::now();
    let visit_type_id: Option<VisitTypeId> = requested_id(query.visit_type_id, "visit type")?;
    let location_id: Option<LocationId> = requested_id(query.location_id, "location")?;
    // Only times a patient may book now: from the minimum notice on, within the horizon.
    let (earliest, _) = rules::bookable_window(&state.policy, None, now.naive_utc());
    let policy = state.policy.clone();
    let key = AnswerKey::Offer {
        provider_id,
        visit_type_id,
        location_id,
        visit_type: visit_type.clone(),
        limit,
        source: source.as_ref().map(|s| s.as_str().to_owned()),
    };
    let cache = &state.availability;
    if let Some(body) = cache.get(&key, earliest) {
        return Ok(json_body(body));
    }
    let generation = cache.generation();
    let source_hint = source
        .as_ref()
        .map_or_else(no_source_hint, |s| json!(s.as_str()));
    let directory = state.availability.clone();
    let (found, places) = state
        .with_connection(move |conn| {
            // A visit type may have rules of its own.
            let visit_type_rules = match visit_type_id {
                Some(id) => Some(openings::active_visit_type(conn, id)?),
                None => None,
            };
            let (from, until) =
                rules::bookable_window(&policy, visit_type_rules.as_ref(), now.naive_utc());
            let between = OpenBetween {
                from,
                until,
                now: now.naive_utc(),
            };
            let place = match location_id {
                Some(id) => Some(locations::place(conn, id)?),
                None => None,
            };
            let found = match (visit_type_rules.as_ref(), visit_type.as_deref()) {
                (Some(visit_type), _) => openings::open_times(
                    conn,
                    Some(visit_type),
                    provider_id,
                    place,
                    between,
                    limit,
                )?,
                (None, label) => slots::free_of_type_between(
                    conn,
                    provider_id,
                    place,
                    label,
                    between,
                    limit as i64,
                )?,
            };
            // Nothing offered: say so for a provider who is not there (404) rather than for
            // one who is fully booked (an empty offer). Asked only then, off the busy path.
            if let (true, Some(id)) = (found.is_empty(), provider_id) {
                providers::find(conn, id)?
                    .filter(|p| p.active)
                    .ok_or_else(|| ApiError::not_found("provider"))?;
            }
            Ok::<_, ApiError>((found, directory.directory(|| Directory::load(conn))?))
        })
        .await?;
    let body = serde_json::to_vec(&CallToAction {
        headline: &settings.cta.headline,
        text: &settings.cta.text,
        clinic: Clinic {
            name: &settings.clinic.name,
            address: &settings.clinic.address,
            phone: &settings.clinic.phone,
            timezone: tz.name(),
        },
        items: found
            .iter()
            .map(|s| OpenSlotJson::new(s, &places))
            .collect(),
        book: HowToBook::book(source_hint.clone()),
        book_earliest: HowToBook::book_earliest(source_hint),
    })
    .map_err(|e| ApiError::Internal(e.into()))?;
    let body = web::Bytes::from(body);
    let first_start = found.first().map(|(slot, _)| slot.starts_at);
    cache.insert(key, generation, first_start, body.clone());
    Ok(json_body(body))
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"patient": {"name": "Ana Díaz", "email": "ana@example.com"}, "concern": {"area": "lower_back", "onset": "gradual", "red_flags": []}, "source": "stress-and-back-pain"}))]
pub(super) struct ScheduleAppointmentBody {
    #[schema(required = true, nullable = false)]
    patient: Option<PatientBody>,
    #[schema(max_length = 1000)]
    reason: Option<String>,
    concern: Option<Concern>,
    #[schema(minimum = 1, maximum = 2147483647, format = Int64)]
    provider_id: Option<i64>,
    /// The kind of visit (`GET /api/v1/visit-types`): only times where it fits are booked.
    #[schema(minimum = 1, maximum = 2147483647, format = Int64)]
    visit_type_id: Option<i64>,
    /// Only times at this location (`GET /api/v1/locations`).
    #[schema(minimum = 1, maximum = 2147483647, format = Int64)]
    location_id: Option<i64>,
    #[schema(schema_with = not_before_schema)]
    not_before: Option<String>,
    #[schema(schema_with = source_field_schema)]
    source: Option<String>,
    #[schema(schema_with = honeypot_schema)]
    company_website: Option<String>,
}

fn not_before_schema() -> Object {
    or_null(instant_or_date())
        .description(Some(
            "The earliest the visit may start: an RFC 3339 instant, or a local date (its start)",
        ))
        .build()
}

fn source_field_schema() -> Object {
    or_null(public_source())
        .description(Some(
            "Where the booking came from: an article's slug (lowercase letters, digits, `-`, \
             `_`). Default `schedule_cta`.",
        ))
        .build()
}

/// `POST /api/v1/schedule-appointment`: books the earliest free slot that fits, or answers 409
/// with the next dates that still have room.
#[utoipa::path(
    post,
    path = "/api/v1/schedule-appointment",
    operation_id = "bookEarliest",
    summary = "Book the earliest time that fits",
    description = "Books the earliest free slot for the patient's request that the booking rules allow (from the minimum notice on, within the horizon: \
`GET /api/v1/booking-policy`), or answers 409 with `next_available_dates`; 409 with `rule` max_active when the email address holds as many upcoming visits as the clinic allows.",
    tag = "schedule-appointment",
    security(()),
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Retry safely: the same key and body replay the first answer", max_length = 255, pattern = "^[!-~]+$"),
    ),
    request_body = ScheduleAppointmentBody,
    responses(
        (status = 201, description = "Booked the earliest time that fits", body = crate::routes::views::BookingView, example = new_booking_example),
        (status = 400),
        (status = 404, description = "No such provider, visit type or location"),
        (status = 409, description = "Nothing fits (see next_available_dates), the visit type is for returning patients, or the address holds too many upcoming visits (`rule`: max_active)"),
        (status = 413),
        (status = 422),
        (status = 429),
    ),
)]
pub(super) async fn book(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<ScheduleAppointmentBody>,
) -> Result<HttpResponse, ApiError> {
    reject_bots(body.company_website.as_deref())?;
    let settings = &state.settings;
    let tz = settings.clinic.timezone;
    let today = Utc::now().date_naive();
    let mut errors = FieldErrors::default();
    let accepted = accepted_language(&req);
    let patient = parse_patient(body.patient.as_ref(), (today, accepted), &mut errors);
    let reason = parse_reason_field(body.reason.as_deref(), &mut errors);
    let visit_type_id = parse_visit_type_field(body.visit_type_id, &mut errors);
    let source = parse_source_field(
        body.source.as_deref(),
        BookingSource::SCHEDULE_CTA,
        &mut errors,
    );
    let not_before = match body.not_before.as_deref() {
        Some(v) => errors.check(
            "not_before",
            parse_instant(v, tz).map_err(|m| format!("not_before {m}")),
        ),
        None => None,
    };
    let (Some(patient), Some(source)) = (patient, source) else {
        return Err(errors.into());
    };
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let provider_id: Option<ProviderId> = requested_id(body.provider_id, "provider")?;
    let location_id: Option<LocationId> = requested_id(body.location_id, "location")?;
    let intake = Intake {
        patient,
        reason,
        source,
        concern: body.concern.clone().map(Concern::normalized),
        visit_type_id,
        series_id: None,
        hold: None,
    };
    let request = EarliestRequest {
        provider_id,
        location_id,
        not_before: not_before.map(|t| t.naive_utc()),
    };
    let policy = state.policy.clone();
    let app = state.clone();
    let answer = idempotency::run_once(
        &req,
        &state,
        "schedule-appointment",
        &body.0,
        StatusCode::CREATED,
        NO_SCREEN,
        move |conn, now| {
            let details = appointments::book_earliest_fitting(
                conn,
                &intake,
                request,
                tz,
                &Actor::Public,
                &policy,
                now,
            )?;
            new_booking_json(&details, &app)
        },
    )
    .await;
    booking_answered(&state, answer)
}
