//! How the API shows providers, slots and bookings: the JSON shapes handlers answer with,
//! instants as RFC 3339 (UTC, and the clinic's local time beside it).

use actix_web::http::header::ContentType;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::clinic::appointments::BookingDetails;
use crate::db::providers::Provider;
use crate::db::slots::Slot;
use crate::domain::booking::BookingReference;
use crate::domain::intake::Concern;
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

/// A stored UTC timestamp in the clinic's local time, with its offset.
pub(super) fn local_rfc3339(stored: NaiveDateTime, tz: Tz) -> String {
    stored
        .and_utc()
        .with_timezone(&tz)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct ProviderSummary {
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

/// A slot as clients see it: UTC instants plus the clinic's local wall-clock time.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct SlotView {
    pub id: i32,
    pub provider_id: i32,
    pub start: String,
    pub end: String,
    pub local_start: String,
    pub local_end: String,
    pub timezone: String,
    pub status: String,
    pub visit_type: Option<String>,
}

impl SlotView {
    pub(super) fn new(slot: &Slot, tz: Tz) -> Self {
        Self {
            id: slot.id.get(),
            provider_id: slot.provider_id.get(),
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
    pub(super) fn new((slot, provider): &(Slot, Provider), tz: Tz) -> Self {
        Self {
            slot: SlotView::new(slot, tz),
            provider: provider.into(),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct PatientView {
    name: String,
    email: String,
    phone: Option<String>,
    date_of_birth: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct BookingView {
    reference: String,
    status: String,
    slot: SlotView,
    provider: ProviderSummary,
    patient: PatientView,
    reason: Option<String>,
    source: String,
    created_at: String,
    updated_at: String,
    concern: Option<Concern>,
    /// Red flags in the intake: the front desk reviews this booking before the visit.
    needs_review: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    manage_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    confirmation_email: Option<&'static str>,
}

impl BookingView {
    pub(super) fn new(details: &BookingDetails, tz: Tz) -> Self {
        let b = &details.booking;
        Self {
            reference: b.reference.clone(),
            status: b.status.as_str().to_owned(),
            slot: SlotView::new(&details.slot, tz),
            provider: (&details.provider).into(),
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
pub(super) fn booking_json(details: &BookingDetails, tz: Tz) -> Result<String, ApiError> {
    Ok(serde_json::to_string(&BookingView::new(details, tz)).map_err(anyhow::Error::from)?)
}

/// The JSON of a booking just made: the booking, its manage token (the patient's key to it),
/// and the note that its confirmation is on its way.
pub(super) fn new_booking_json(
    details: &BookingDetails,
    state: &AppState,
) -> Result<String, ApiError> {
    let mut view = BookingView::new(details, state.settings.clinic.timezone);
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
