//! The waitlist over HTTP. Patients join with `POST /api/v1/waitlist` (the entry counts once
//! they open the verification link mailed to them), read and leave it with the entry's token,
//! and answer offers with the offer's token from the offer mail; the front desk adds entries
//! for patients, lists them per provider and day, and removes them. Every token is sent as
//! `Authorization: Bearer <token>` (a secret stays out of URLs the server logs); the links in
//! the mails carry them to the `/waitlist` page, which sends them so.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::access::{bearer_token, FrontDeskUser};
use super::bookings::OptionalJson;
use super::patient_form::{
    accepted_language, honeypot_schema, parse_patient, reject_bots, PatientBody,
};
use super::views::{
    names_schema, new_booking_view, private_json, rfc3339, BookingView, LocationSummary,
    ProviderSummary, SlotView, VisitTypeSummary,
};
use crate::auth::jwt::WaitlistLink;
use crate::clinic::locations;
use crate::clinic::waitlist::{self, EntryDetails, JoinRequest, OfferDetails};
use crate::db::{self, slots, DbConnection};
use crate::domain::actor::Actor;
use crate::domain::ids::{LocationId, ProviderId, VisitTypeId, WaitlistOfferId};
use crate::domain::language::Language;
use crate::domain::waitlist::{
    DayPart, EntryStatus, OfferStatus, Preferences, WaitlistReference, WEEKDAY_NAMES,
};
use crate::domain::FieldErrors;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "visit_type_id": 1,
    "provider_id": null,
    "earliest_date": "2027-01-04",
    "latest_date": "2027-01-29",
    "days": ["mon", "wed", "fri"],
    "times": ["morning"],
    "patient": {"name": "Ana Ortiz", "email": "ana@example.com", "phone": "+1 602 555 0199"}
}))]
pub(super) struct WaitlistBody {
    /// The kind of visit wanted.
    #[schema(minimum = 1, maximum = 2147483647, format = Int64)]
    visit_type_id: i64,
    /// One provider, or `null` for any who offers the visit type.
    #[schema(minimum = 1, maximum = 2147483647, format = Int64)]
    provider_id: Option<i64>,
    /// One location, or `null` for any.
    #[schema(minimum = 1, maximum = 2147483647, format = Int64)]
    location_id: Option<i64>,
    /// The first local date the patient can come.
    #[schema(format = Date, max_length = 10)]
    earliest_date: String,
    /// The last local date (at most 366 days after the first).
    #[schema(format = Date, max_length = 10)]
    latest_date: String,
    /// Days of the week the patient can come; empty or absent for any.
    #[schema(schema_with = days_schema)]
    #[serde(default)]
    days: Vec<String>,
    /// Parts of the day (morning: before noon, afternoon: noon to 5 pm, evening: from 5 pm, the
    /// location's time); empty or absent for any.
    #[schema(schema_with = times_schema)]
    #[serde(default)]
    times: Vec<String>,
    patient: Option<PatientBody>,
    /// "Move my booking earlier": the manage token of the patient's booking (from its
    /// confirmation), a JWT. Taking an offer then books the earlier time and cancels that booking;
    /// only times before it are offered, and the entry counts at once (the token proves the
    /// address).
    #[schema(
        max_length = 2048,
        pattern = r"^\s*[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\s*$"
    )]
    move_booking_token: Option<String>,
    #[schema(schema_with = honeypot_schema)]
    company_website: Option<String>,
}

fn days_schema() -> utoipa::openapi::schema::Array {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(names_schema(WEEKDAY_NAMES))
        .max_items(Some(7))
        .unique_items(true)
        .build()
}

fn times_schema() -> utoipa::openapi::schema::Array {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(names_schema(DayPart::ALL.map(DayPart::as_str)))
        .max_items(Some(3))
        .unique_items(true)
        .build()
}

fn entry_token_schema() -> utoipa::openapi::Object {
    super::views::token_schema().build()
}

fn entry_status_schema() -> utoipa::openapi::Object {
    names_schema(EntryStatus::ALL.map(EntryStatus::as_str)).build()
}

fn offer_status_schema() -> utoipa::openapi::Object {
    names_schema(OfferStatus::ALL.map(OfferStatus::as_str)).build()
}

fn waitlist_reference_schema() -> utoipa::openapi::Object {
    super::views::pattern_schema(WaitlistReference::PATTERN).build()
}

impl WaitlistBody {
    fn parse(
        &self,
        today: NaiveDate,
        accepted: Language,
    ) -> Result<(JoinRequest, Option<String>), ApiError> {
        let mut errors = FieldErrors::default();
        let patient = parse_patient(self.patient.as_ref(), (today, accepted), &mut errors);
        let date = |field: &str, value: &str, errors: &mut FieldErrors| {
            errors.check(
                field,
                NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
                    .map_err(|_| "must be a date as YYYY-MM-DD".to_string()),
            )
        };
        let earliest = date("earliest_date", &self.earliest_date, &mut errors);
        let latest = date("latest_date", &self.latest_date, &mut errors);
        // A day of slack: the clinic's today may still be yesterday in UTC.
        if latest.is_some_and(|d| d < today - chrono::Duration::days(1)) {
            errors.add("latest_date", "must not be in the past");
        }
        let preferences = match (earliest, latest) {
            (Some(earliest), Some(latest)) => {
                match Preferences::parse((earliest, latest), &self.days, &self.times) {
                    Ok(p) => Some(p),
                    Err((field, message)) => {
                        errors.add(field, message);
                        None
                    }
                }
            }
            _ => None,
        };
        let visit_type_id = VisitTypeId::try_from(self.visit_type_id)
            .map_err(|_| ApiError::not_found("visit type"))?;
        let provider_id = self
            .provider_id
            .map(|id| ProviderId::try_from(id).map_err(|_| ApiError::not_found("provider")))
            .transpose()?;
        let location_id = self
            .location_id
            .map(|id| LocationId::try_from(id).map_err(|_| ApiError::not_found("location")))
            .transpose()?;
        match (patient, preferences) {
            (Some(patient), Some(preferences)) if errors.is_empty() => Ok((
                JoinRequest {
                    patient,
                    visit_type_id,
                    provider_id,
                    location_id,
                    preferences,
                    move_booking: None,
                },
                self.move_booking_token.clone(),
            )),
            _ => Err(errors.into()),
        }
    }
}

/// A waitlist entry.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct WaitlistEntryView {
    /// How the clinic and the patient's mails name it.
    #[schema(schema_with = waitlist_reference_schema)]
    reference: String,
    /// `unverified` until the patient opens the link mailed to them; `waiting` while on the
    /// list; `booked` once an offer was taken; `removed` once taken off the list.
    #[schema(schema_with = entry_status_schema)]
    status: String,
    /// The entry's own token (`GET`/`DELETE /api/v1/waitlist/current`): only in the answers
    /// that made or verified it. Keep it: it is the only way back to the entry online.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = entry_token_schema)]
    token: Option<String>,
    visit_type: VisitTypeSummary,
    /// The provider asked for; `null` for any.
    #[schema(minimum = 1, maximum = 2147483647, format = Int64)]
    provider_id: Option<i32>,
    /// The location asked for; `null` for any.
    #[schema(minimum = 1, maximum = 2147483647, format = Int64)]
    location_id: Option<i32>,
    #[schema(format = Date, max_length = 10)]
    earliest_date: String,
    #[schema(format = Date, max_length = 10)]
    latest_date: String,
    #[schema(schema_with = days_schema)]
    days: Vec<&'static str>,
    #[schema(schema_with = times_schema)]
    times: Vec<&'static str>,
    /// The booking an accepted offer moves earlier; `null` for none.
    #[schema(schema_with = super::views::optional_reference_schema)]
    move_booking: Option<String>,
    /// The offer it holds now, if any.
    offer: Option<WaitlistOfferSummary>,
    patient: WaitlistPatient,
    /// `website` or `front_desk`.
    #[schema(schema_with = super::views::source_schema)]
    source: String,
    #[schema(format = DateTime, max_length = 20)]
    created_at: String,
}

/// Who the entry is for.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct WaitlistPatient {
    #[schema(max_length = 100)]
    name: String,
    #[schema(format = Email, max_length = 254)]
    email: String,
    #[schema(schema_with = super::views::phone_schema)]
    phone: Option<String>,
}

/// An offer as an entry lists it.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct WaitlistOfferSummary {
    /// The visit offered: its start, an RFC 3339 instant (UTC).
    #[schema(format = DateTime, max_length = 20)]
    start: String,
    #[schema(format = DateTime, max_length = 20)]
    expires_at: String,
}

fn entry_view(details: &EntryDetails, token: Option<String>) -> WaitlistEntryView {
    let entry = &details.entry;
    let preferences = entry.preferences();
    WaitlistEntryView {
        reference: entry.reference.clone(),
        status: entry.status.as_str().to_owned(),
        token,
        visit_type: VisitTypeSummary::from(&details.visit_type),
        provider_id: entry.provider_id.map(ProviderId::get),
        location_id: entry.location_id.map(LocationId::get),
        earliest_date: entry.earliest_date.to_string(),
        latest_date: entry.latest_date.to_string(),
        days: preferences.days(),
        times: preferences.parts(),
        move_booking: details.move_booking.clone(),
        offer: details.offer.as_ref().map(|o| WaitlistOfferSummary {
            start: rfc3339(o.starts_at.and_utc()),
            expires_at: rfc3339(o.expires_at.and_utc()),
        }),
        patient: WaitlistPatient {
            name: entry.patient_name.clone(),
            email: entry.patient_email.clone(),
            phone: entry.patient_phone.clone(),
        },
        source: entry.source.as_str().to_owned(),
        created_at: rfc3339(entry.created_at.and_utc()),
    }
}

/// The entry's own token: it opens the entry until a day after its last date.
fn entry_token(state: &AppState, details: &EntryDetails) -> Result<String, ApiError> {
    let until = details
        .entry
        .latest_date
        .succ_opt()
        .unwrap_or(details.entry.latest_date)
        .and_hms_opt(23, 59, 59)
        .unwrap_or_default()
        .and_utc();
    Ok(state
        .tokens
        .issue_waitlist_token(WaitlistLink::Entry, &details.entry.reference, until)?)
}

/// A 201 with `view`, which no cache may keep (it holds patient details or a token).
fn created(view: &impl Serialize) -> Result<HttpResponse, ApiError> {
    let body = serde_json::to_string(view).map_err(anyhow::Error::from)?;
    Ok(HttpResponse::build(StatusCode::CREATED)
        .content_type("application/json")
        .insert_header(("Cache-Control", "no-store"))
        .body(body))
}

/// A 200 with `view`, which no cache may keep.
fn private(view: &impl Serialize) -> Result<HttpResponse, ApiError> {
    Ok(private_json(
        serde_json::to_string(view).map_err(anyhow::Error::from)?,
    ))
}

/// Joins on behalf of `actor`, answers the entry with its token.
async fn join_as(
    state: &web::Data<AppState>,
    mut request: JoinRequest,
    move_token: Option<String>,
    actor: Actor,
) -> Result<HttpResponse, ApiError> {
    if let Some(token) = move_token {
        let reference = state
            .tokens
            .verify_manage_token(token.trim())
            .ok_or_else(|| {
                ApiError::invalid(
                    "move_booking_token",
                    "is not a valid manage token (it is in the booking's confirmation mail)",
                )
            })?;
        request.move_booking = Some(reference);
    }
    let details = state
        .with_connection(move |conn| {
            db::write_transaction(conn, |conn| {
                waitlist::join(conn, &request, &actor, db::now())
            })
        })
        .await?;
    state.wake_mail_worker();
    created(&entry_view(&details, Some(entry_token(state, &details)?)))
}

#[utoipa::path(
    post,
    path = "/api/v1/waitlist",
    operation_id = "joinWaitlist",
    summary = "Join the waitlist for an earlier time",
    description = "Puts the patient on the waitlist for a visit type (with one provider or any, \
at one location or any) between two dates, on some days and parts of the day. The entry counts \
once the patient opens the verification link mailed to them (`POST \
/api/v1/waitlist/verify`); with `move_booking_token` (their booking's manage token) it counts at \
once, and offers move that booking earlier. When matching time frees up, the first entry in \
line gets it by mail, held for `waitlist.offer_minutes` (default 15), with a one-click link that \
books it. Answers the entry and its token (`GET`/`DELETE /api/v1/waitlist/current`).",
    tag = "waitlist",
    security(()),
    request_body = WaitlistBody,
    responses(
        (status = 201, description = "On the list (after verification, for a website entry)", body = WaitlistEntryView),
        (status = 400),
        (status = 404, description = "No such visit type, provider or location"),
        (status = 409, description = "The visit type is for returning patients, and this address has no earlier visit"),
        (status = 413),
        (status = 422, description = "Invalid fields, named in `errors`"),
        (status = 429),
    ),
)]
pub(super) async fn join(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<WaitlistBody>,
) -> Result<HttpResponse, ApiError> {
    reject_bots(body.company_website.as_deref())?;
    let (request, move_token) = body.parse(db::now().date(), accepted_language(&req))?;
    join_as(&state, request, move_token, Actor::Public).await
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/waitlist",
    operation_id = "addWaitlistEntry",
    summary = "Put a patient on the waitlist (front desk)",
    description = "As `joinWaitlist`, for a patient on the phone or at the desk: the entry counts \
at once, and the patient gets the \"you are on the list\" mail.",
    tag = "staff",
    security(("staff_jwt" = [])),
    request_body = WaitlistBody,
    responses(
        (status = 201, description = "On the list", body = WaitlistEntryView),
        (status = 400),
        (status = 401),
        (status = 403),
        (status = 404, description = "No such visit type, provider or location"),
        (status = 413),
        (status = 422, description = "Invalid fields, named in `errors`"),
    ),
)]
pub(super) async fn add(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: FrontDeskUser,
    body: web::Json<WaitlistBody>,
) -> Result<HttpResponse, ApiError> {
    let (request, move_token) = body.parse(db::now().date(), accepted_language(&req))?;
    join_as(&state, request, move_token, staff.actor()).await
}

/// The subject of the waitlist token of kind `link` the request carries; 401 without one.
fn link_subject(
    req: &HttpRequest,
    state: &AppState,
    link: WaitlistLink,
) -> Result<String, ApiError> {
    let what = match link {
        WaitlistLink::Entry => "the entry's token (from joining, or the mail's link)",
        WaitlistLink::Verify => "the token of the verification link",
        WaitlistLink::Offer => "the token of the offer's link",
    };
    bearer_token(req)
        .and_then(|token| state.tokens.verify_waitlist_token(link, token))
        .ok_or_else(|| {
            ApiError::Unauthorized(format!(
                "send {what} as `Authorization: Bearer <token>`; this link is invalid or has expired"
            ))
        })
}

fn entry_reference(
    req: &HttpRequest,
    state: &AppState,
    link: WaitlistLink,
) -> Result<WaitlistReference, ApiError> {
    WaitlistReference::parse(&link_subject(req, state, link)?)
        .ok_or_else(|| ApiError::not_found("waitlist entry"))
}

#[utoipa::path(
    post,
    path = "/api/v1/waitlist/verify",
    operation_id = "verifyWaitlistEntry",
    summary = "Confirm a waitlist entry's address (the mailed link)",
    description = "With the token of the verification link: the entry counts from now on. Opening \
the link again changes nothing. Answers the entry with its own token.",
    tag = "waitlist",
    security(("waitlist_token" = [])),
    responses(
        (status = 200, description = "The entry, now waiting", body = WaitlistEntryView),
        (status = 401),
        (status = 404, description = "No such entry"),
    ),
)]
pub(super) async fn verify(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let reference = entry_reference(&req, &state, WaitlistLink::Verify)?;
    let details = state
        .with_connection(move |conn| {
            db::write_transaction(conn, |conn| waitlist::verify(conn, &reference, db::now()))
        })
        .await?;
    state.wake_mail_worker();
    let view = entry_view(&details, Some(entry_token(&state, &details)?));
    private(&view)
}

#[utoipa::path(
    get,
    path = "/api/v1/waitlist/current",
    operation_id = "getWaitlistEntry",
    summary = "Read a waitlist entry",
    description = "With the entry's own token: what it asks for, where it stands, and the offer \
it holds now, if any.",
    tag = "waitlist",
    security(("waitlist_token" = [])),
    responses(
        (status = 200, description = "The entry", body = WaitlistEntryView),
        (status = 401),
        (status = 404, description = "No such entry"),
    ),
)]
pub(super) async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let reference = entry_reference(&req, &state, WaitlistLink::Entry)?;
    let details = state
        .with_connection(move |conn| waitlist::load(conn, &reference))
        .await?;
    let view = entry_view(&details, None);
    private(&view)
}

#[utoipa::path(
    delete,
    path = "/api/v1/waitlist/current",
    operation_id = "leaveWaitlist",
    summary = "Leave the waitlist",
    description = "With the entry's own token. An offer it holds goes to the next patient at \
once. An entry off the list already is a 409.",
    tag = "waitlist",
    security(("waitlist_token" = [])),
    responses(
        (status = 204, description = "Off the list"),
        (status = 401),
        (status = 404, description = "No such entry"),
        (status = 409, description = "The entry is off the list already (booked or removed)"),
    ),
)]
pub(super) async fn leave(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let reference = entry_reference(&req, &state, WaitlistLink::Entry)?;
    remove_entry(&state, reference, Actor::Public).await
}

async fn remove_entry(
    state: &web::Data<AppState>,
    reference: WaitlistReference,
    actor: Actor,
) -> Result<HttpResponse, ApiError> {
    let policy = state.policy.clone();
    state
        .with_connection(move |conn| {
            db::write_transaction(conn, |conn| {
                let entry = waitlist::find_by_reference(conn, &reference)?;
                waitlist::remove(conn, &entry, &actor, &policy, db::now())
            })
        })
        .await?;
    state.wake_mail_worker();
    Ok(HttpResponse::NoContent().finish())
}

/// The staff list's filter.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ListQuery {
    /// Entries for this provider (and those for any provider).
    #[param(minimum = 1, maximum = 2147483647, format = Int64)]
    provider_id: Option<i64>,
    /// Entries whose dates include this local date.
    #[param(format = Date, max_length = 10)]
    date: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/waitlist",
    operation_id = "listWaitlist",
    summary = "The waitlist (front desk)",
    description = "Entries on the list (waiting or not yet verified), in the order they joined, \
for one provider (with those for any provider) and one date, or all; at most 500.",
    tag = "staff",
    security(("staff_jwt" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "Entries in line order", body = WaitlistList),
        (status = 400),
        (status = 401),
        (status = 403),
        (status = 422, description = "Invalid fields, named in `errors`"),
    ),
)]
pub(super) async fn list(
    state: web::Data<AppState>,
    _staff: FrontDeskUser,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let date = query
        .date
        .as_deref()
        .map(|d| {
            NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
                .map_err(|_| ApiError::invalid("date", "must be a date as YYYY-MM-DD"))
        })
        .transpose()?;
    let provider = query
        .provider_id
        .map(|id| {
            ProviderId::try_from(id)
                .map_err(|_| ApiError::invalid("provider_id", "is not a provider's id"))
        })
        .transpose()?;
    let entries = state
        .with_connection(move |conn| waitlist::listed(conn, provider, date))
        .await?;
    let list = WaitlistList {
        items: entries.iter().map(|e| entry_view(e, None)).collect(),
    };
    private(&list)
}

/// The entries on the list, in the order they joined.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct WaitlistList {
    #[schema(max_items = 500)]
    items: Vec<WaitlistEntryView>,
}

/// A waitlist entry's address for staff.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(super) struct EntryPath {
    /// The entry's reference, e.g. WL-7Q2M9XA4KD (in either case)
    #[param(
        max_length = 20,
        example = "WL-7Q2M9XA4KD",
        pattern = r"^\s*[Ww][Ll]-[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{10}\s*$"
    )]
    reference: String,
}

#[utoipa::path(
    delete,
    path = "/api/v1/admin/waitlist/{reference}",
    operation_id = "removeWaitlistEntry",
    summary = "Take a patient off the waitlist (front desk)",
    description = "An offer the entry holds goes to the next patient at once.",
    tag = "staff",
    security(("staff_jwt" = [])),
    params(EntryPath),
    responses(
        (status = 204, description = "Off the list"),
        (status = 401),
        (status = 403),
        (status = 404, description = "No such entry"),
        (status = 409, description = "The entry is off the list already"),
    ),
)]
pub(super) async fn remove(
    state: web::Data<AppState>,
    staff: FrontDeskUser,
    path: web::Path<EntryPath>,
) -> Result<HttpResponse, ApiError> {
    let reference = WaitlistReference::parse(&path.reference)
        .ok_or_else(|| ApiError::not_found("waitlist entry"))?;
    remove_entry(&state, reference, staff.actor()).await
}

/// A time offered to a waitlist entry.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct WaitlistOfferView {
    /// `offered` while it can be taken; then `accepted`, `declined` or `expired`.
    #[schema(schema_with = offer_status_schema)]
    status: String,
    /// Until when the time is held (RFC 3339, UTC).
    #[schema(format = DateTime, max_length = 20)]
    expires_at: String,
    /// Whole seconds left until then (0 once it is decided or has run out).
    #[schema(minimum = 0, maximum = 86400)]
    seconds_left: i64,
    /// The visit offered.
    slot: SlotView,
    provider: ProviderSummary,
    location: LocationSummary,
    visit_type: VisitTypeSummary,
    /// The entry the offer is for.
    #[schema(schema_with = waitlist_reference_schema)]
    entry_reference: String,
    /// The booking taking it moves earlier (and cancels); `null` for none.
    #[schema(schema_with = super::views::optional_reference_schema)]
    move_booking: Option<String>,
}

fn offer_view(
    conn: &mut DbConnection,
    details: &OfferDetails,
    now: NaiveDateTime,
) -> Result<WaitlistOfferView, ApiError> {
    let offer = &details.offer;
    let (first, provider) = slots::find_with_provider(conn, offer.slot_id)?
        .ok_or_else(|| ApiError::not_found("offer"))?;
    let location = locations::of_slot(conn, first.location_id)?;
    let visit_type = crate::db::visit_types::find(conn, details.entry.visit_type_id)?
        .ok_or_else(|| ApiError::not_found("offer"))?;
    let move_booking = match details.entry.move_booking_id {
        Some(id) => crate::db::bookings::find_by_id(conn, id)?.map(|b| b.reference),
        None => None,
    };
    let live = offer.status == OfferStatus::Offered && offer.expires_at > now;
    let status = if offer.status == OfferStatus::Offered && !live {
        OfferStatus::Expired
    } else {
        offer.status
    };
    Ok(WaitlistOfferView {
        status: status.as_str().to_owned(),
        expires_at: rfc3339(offer.expires_at.and_utc()),
        seconds_left: if live {
            (offer.expires_at - now).num_seconds().max(0)
        } else {
            0
        },
        slot: SlotView::new(
            &slots::Slot {
                ends_at: offer.ends_at,
                ..first
            },
            &location,
        ),
        provider: (&provider).into(),
        location: (&location).into(),
        visit_type: VisitTypeSummary::from(&visit_type),
        entry_reference: details.entry.reference.clone(),
        move_booking,
    })
}

/// What an offer's answer takes: nothing. A body with any field (an `override`, say: nobody sets
/// the booking rules aside here) is a 400, as an unknown field is anywhere.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NoFields {}

fn offer_id(req: &HttpRequest, state: &AppState) -> Result<WaitlistOfferId, ApiError> {
    link_subject(req, state, WaitlistLink::Offer)?
        .parse::<i64>()
        .ok()
        .and_then(|id| WaitlistOfferId::try_from(id).ok())
        .ok_or_else(|| ApiError::not_found("offer"))
}

#[utoipa::path(
    get,
    path = "/api/v1/waitlist/offers/current",
    operation_id = "getWaitlistOffer",
    summary = "Read an offer",
    description = "With the token of the offer's link: the time offered, and how long it is \
still held.",
    tag = "waitlist",
    security(("waitlist_token" = [])),
    responses(
        (status = 200, description = "The offer", body = WaitlistOfferView),
        (status = 401),
        (status = 404, description = "No such offer"),
    ),
)]
pub(super) async fn show_offer(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = offer_id(&req, &state)?;
    let view = state
        .with_connection(move |conn| {
            let details = waitlist::load_offer(conn, id)?;
            offer_view(conn, &details, db::now())
        })
        .await?;
    private(&view)
}

#[utoipa::path(
    post,
    path = "/api/v1/waitlist/offers/current/accept",
    operation_id = "acceptWaitlistOffer",
    summary = "Take an offer: book its time",
    description = "With the token of the offer's link. Books the time held for the patient, \
under the booking rules like any booking (and, for an entry moving a booking earlier, cancels \
that booking with its mail); the patient leaves the waitlist. The first answer wins: an offer \
taken, declined or run out already is a 409 whose `offer_status` says which.",
    tag = "waitlist",
    security(("waitlist_token" = [])),
    responses(
        (status = 201, description = "Booked; the confirmation is on its way", body = BookingView),
        (status = 400),
        (status = 401),
        (status = 404, description = "No such offer"),
        (status = 409, description = "The offer is no longer open (`offer_status`), or a booking rule refuses it"),
    ),
)]
pub(super) async fn accept(
    req: HttpRequest,
    state: web::Data<AppState>,
    _body: OptionalJson<NoFields>,
) -> Result<HttpResponse, ApiError> {
    let id = offer_id(&req, &state)?;
    let policy = state.policy.clone();
    let (details, freed_at, now) = state
        .with_connection(move |conn| {
            db::write_transaction(conn, |conn| {
                let now = db::now();
                let (details, freed_at) = waitlist::accept(conn, id, &policy, now)?;
                Ok::<_, ApiError>((details, freed_at, now))
            })
        })
        .await?;
    state.metrics.booking_created();
    state
        .metrics
        .waitlist_rebooked((now - freed_at).num_milliseconds() as f64 / 1000.0);
    state.wake_mail_worker();
    created(&new_booking_view(&details, &state)?)
}

#[utoipa::path(
    post,
    path = "/api/v1/waitlist/offers/current/decline",
    operation_id = "declineWaitlistOffer",
    summary = "Decline an offer",
    description = "With the token of the offer's link: the time goes to the next patient at \
once; the patient stays on the waitlist.",
    tag = "waitlist",
    security(("waitlist_token" = [])),
    responses(
        (status = 204, description = "Declined"),
        (status = 400),
        (status = 401),
        (status = 404, description = "No such offer"),
        (status = 409, description = "The offer is no longer open (`offer_status`)"),
    ),
)]
pub(super) async fn decline(
    req: HttpRequest,
    state: web::Data<AppState>,
    _body: OptionalJson<NoFields>,
) -> Result<HttpResponse, ApiError> {
    let id = offer_id(&req, &state)?;
    let policy = state.policy.clone();
    state
        .with_connection(move |conn| {
            db::write_transaction(conn, |conn| waitlist::decline(conn, id, &policy, db::now()))
        })
        .await?;
    state.wake_mail_worker();
    Ok(HttpResponse::NoContent().finish())
}
