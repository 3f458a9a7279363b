//! How the API shows providers, slots and bookings: the JSON shapes handlers answer with,
//! instants as RFC 3339 (UTC, and the clinic's local time beside it).

use actix_web::http::header::ContentType;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::clinic::appointments::BookingDetails;
use crate::clinic::locations::Directory;
use crate::db::audit::{ActorKind, EntityKind};
use crate::db::locations::Location;
use crate::db::outbox::{JobStatus, MailKind};
use crate::db::providers::Provider;
use crate::db::slots::Slot;
use crate::domain::booking::{BookingReference, BookingStatus};
use crate::domain::intake::Concern;
use crate::domain::slot::SlotStatus;
use crate::error::ApiError;
use crate::state::AppState;

/// A 200 with a JSON body serialized beforehand (perhaps kept in the availability cache).
pub(super) fn json_body(body: web::Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(body)
}

/// An instant as the API writes it: RFC 3339, UTC, whole seconds.
pub(super) fn rfc3339(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A stored UTC timestamp in a location's local time, with its offset.
pub(super) fn local_rfc3339(stored: NaiveDateTime, tz: Tz) -> String {
    stored
        .and_utc()
        .with_timezone(&tz)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct ProviderSummary {
    #[schema(value_type = i64)]
    pub id: i32,
    pub name: String,
    pub title: String,
    pub specialty: String,
}

impl From<&Provider> for ProviderSummary {
    fn from(p: &Provider) -> Self {
        Self {
            id: p.id.get(),
            name: p.name.clone(),
            title: p.title.clone(),
            specialty: p.specialty.clone(),
        }
    }
}

/// A slot as clients see it: UTC instants plus the wall-clock time where it is, at its location.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct SlotView {
    #[schema(value_type = i64)]
    pub id: i32,
    #[schema(value_type = i64)]
    pub provider_id: i32,
    /// Where the slot is (`GET /api/v1/locations`).
    #[schema(value_type = i64, minimum = 1, maximum = 2147483647)]
    pub location_id: i32,
    #[schema(format = DateTime)]
    pub start: String,
    #[schema(format = DateTime)]
    pub end: String,
    /// `start` in the location's time zone.
    #[schema(format = DateTime)]
    pub local_start: String,
    #[schema(format = DateTime)]
    pub local_end: String,
    /// The location's IANA time zone.
    #[schema(max_length = 40, pattern = "^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$")]
    pub timezone: String,
    #[schema(schema_with = slot_status_schema)]
    pub status: String,
    pub visit_type: Option<String>,
}

impl SlotView {
    /// `slot` at `location` (the one it is at: see `Directory::of`).
    pub(super) fn new(slot: &Slot, location: &Location) -> Self {
        let tz: Tz = location.timezone.tz();
        Self {
            id: slot.id.get(),
            provider_id: slot.provider_id.get(),
            location_id: location.id.get(),
            start: rfc3339(slot.starts_at.and_utc()),
            end: rfc3339(slot.ends_at.and_utc()),
            local_start: local_rfc3339(slot.starts_at, tz),
            local_end: local_rfc3339(slot.ends_at, tz),
            timezone: tz.name().to_owned(),
            status: slot.status.as_str().to_owned(),
            visit_type: slot.visit_type.clone(),
        }
    }
}

/// A free slot with the provider it is with, for lists patients choose from.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct OpenSlotView {
    #[serde(flatten)]
    pub slot: SlotView,
    pub provider: ProviderSummary,
}

impl OpenSlotView {
    pub(super) fn new((slot, provider): &(Slot, Provider), places: &Directory) -> Self {
        Self {
            slot: SlotView::new(slot, places.of(slot.location_id)),
            provider: provider.into(),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct PatientView {
    name: String,
    #[schema(format = Email)]
    email: String,
    phone: Option<String>,
    #[schema(format = Date)]
    date_of_birth: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct VisitTypeSummary {
    #[schema(value_type = i64, minimum = 1, maximum = 2147483647)]
    id: i32,
    #[schema(max_length = 80)]
    name: String,
    #[schema(minimum = 5, maximum = 480)]
    duration_minutes: i32,
}

/// Where a visit is, as patients and the day sheet need it.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct LocationSummary {
    #[schema(value_type = i64, minimum = 1, maximum = 2147483647)]
    id: i32,
    #[schema(max_length = 100)]
    name: String,
    #[schema(max_length = 200)]
    address: String,
    #[schema(max_length = 40)]
    phone: String,
    /// IANA time zone.
    #[schema(max_length = 40, pattern = "^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$")]
    timezone: String,
}

impl From<&Location> for LocationSummary {
    fn from(l: &Location) -> Self {
        Self {
            id: l.id.get(),
            name: l.name.clone(),
            address: l.address.clone(),
            phone: l.phone.clone(),
            timezone: l.timezone.as_str().to_owned(),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct BookingView {
    reference: String,
    #[schema(schema_with = booking_status_schema)]
    status: String,
    /// The visit: its first slot's id, and where the visit starts and ends.
    slot: SlotView,
    provider: ProviderSummary,
    /// Where the visit is; `slot`'s local times are in its time zone.
    location: LocationSummary,
    /// The kind of visit booked; `null` for a booking made without one (the visit is the slot).
    visit_type: Option<VisitTypeSummary>,
    patient: PatientView,
    reason: Option<String>,
    source: String,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
    concern: Option<Concern>,
    /// Red flags in the intake: the front desk reviews this booking before the visit.
    needs_review: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Only in the answer that made the booking: the patient's key to read, cancel and move it.
    manage_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// `queued` in the answer that made the booking.
    confirmation_email: Option<&'static str>,
}

impl BookingView {
    pub(super) fn new(details: &BookingDetails) -> Self {
        let b = &details.booking;
        Self {
            reference: b.reference.clone(),
            status: b.status.as_str().to_owned(),
            slot: SlotView::new(&details.slot, &details.location),
            provider: (&details.provider).into(),
            location: (&details.location).into(),
            visit_type: details.visit_type.as_ref().map(|v| VisitTypeSummary {
                id: v.id.get(),
                name: v.name.clone(),
                duration_minutes: v.duration_minutes,
            }),
            patient: PatientView {
                name: b.patient_name.clone(),
                email: b.patient_email.clone(),
                phone: b.patient_phone.clone(),
                date_of_birth: b.patient_date_of_birth.map(|d| d.to_string()),
            },
            reason: b.reason.clone(),
            source: b.source.as_str().to_owned(),
            created_at: rfc3339(b.created_at.and_utc()),
            updated_at: rfc3339(b.updated_at.and_utc()),
            concern: Concern::from_stored(
                b.concern_area.as_deref(),
                b.concern_onset.as_deref(),
                b.red_flags.as_deref(),
            ),
            needs_review: b.needs_review,
            manage_token: None,
            confirmation_email: None,
        }
    }
}

/// The JSON of a booking as its read, cancel, reschedule and status answers show it.
pub(super) fn booking_json(details: &BookingDetails) -> Result<String, ApiError> {
    Ok(serde_json::to_string(&BookingView::new(details)).map_err(anyhow::Error::from)?)
}

/// The JSON of a booking just made: the booking, its manage token (the patient's key to it),
/// and the note that its confirmation is on its way.
pub(super) fn new_booking_json(
    details: &BookingDetails,
    state: &AppState,
) -> Result<String, ApiError> {
    let mut view = BookingView::new(details);
    let reference = BookingReference::parse(&details.booking.reference)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("stored reference is malformed")))?;
    view.manage_token = Some(
        state
            .tokens
            .issue_manage_token(&reference, details.slot.ends_at.and_utc())?,
    );
    view.confirmation_email = Some("queued");
    Ok(serde_json::to_string(&view).map_err(anyhow::Error::from)?)
}

/// A 200 with a JSON body that no cache may keep (it holds patient details).
pub(super) fn private_json(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Cache-Control", "no-store"))
        .body(body)
}

/// A string schema that takes exactly `names`: each status and kind enum documents the names its
/// own `as_str` gives, so the document and the server cannot drift apart.
pub(super) fn names_schema(
    names: impl IntoIterator<Item = &'static str>,
) -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(names))
        .build()
}

pub(super) fn booking_status_schema() -> utoipa::openapi::schema::Object {
    names_schema(BookingStatus::ALL.map(BookingStatus::as_str))
}

pub(super) fn slot_status_schema() -> utoipa::openapi::schema::Object {
    names_schema(SlotStatus::ALL.map(SlotStatus::as_str))
}

pub(super) fn mail_kind_schema() -> utoipa::openapi::schema::Object {
    names_schema(MailKind::ALL.map(MailKind::as_str))
}

pub(super) fn mail_status_schema() -> utoipa::openapi::schema::Object {
    names_schema(JobStatus::ALL.map(JobStatus::as_str))
}

pub(super) fn actor_kind_schema() -> utoipa::openapi::schema::Object {
    names_schema(ActorKind::ALL.map(ActorKind::as_str))
}

pub(super) fn entity_kind_schema() -> utoipa::openapi::schema::Object {
    names_schema(EntityKind::ALL.map(EntityKind::as_str))
}
