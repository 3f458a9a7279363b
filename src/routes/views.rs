//! How the API shows providers, slots and bookings: the JSON shapes handlers answer with,
//! instants as RFC 3339 (UTC, and the clinic's local time beside it); and the OpenAPI schemas of
//! the strings it takes and writes, from the domain's names and patterns.

use actix_web::http::header::ContentType;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::openapi::schema::{Object, ObjectBuilder, SchemaType, Type};

use crate::auth::jwt::TOKEN_PATTERN;
use crate::clinic::appointments::BookingDetails;
use crate::clinic::locations::Directory;
use crate::db::audit::{ActorKind, EntityKind};
use crate::db::locations::Location;
use crate::db::outbox::{JobStatus, MailKind};
use crate::db::providers::Provider;
use crate::db::slots::Slot;
use crate::db::visit_types::VisitType;
use crate::domain::booking::{BookingReference, BookingSource, BookingStatus};
use crate::domain::calendar::TIME_ZONE_PATTERN;
use crate::domain::hold::HoldToken;
use crate::domain::intake::Concern;
use crate::domain::patient::PHONE_PATTERN;
use crate::domain::slot::{SlotStatus, INSTANT_OR_DATE_PATTERN};
use crate::domain::waitlist::WaitlistReference;
use crate::error::ApiError;
use crate::state::AppState;

/// A 200 with a JSON body serialized beforehand (perhaps kept in the availability cache).
pub(super) fn json_body(body: web::Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(body)
}

/// A row id a request names (a query filter): one beyond the column's range names no row, so it
/// is answered as an unknown one, a 404 naming `what`.
pub(super) fn requested_id<T: TryFrom<i64>>(
    id: Option<i64>,
    what: &'static str,
) -> Result<Option<T>, ApiError> {
    id.map(|id| T::try_from(id).map_err(|_| ApiError::not_found(what)))
        .transpose()
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
    #[schema(schema_with = time_zone_schema)]
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
    /// The view itself (the API writes `OpenSlotJson`, which a test holds to this).
    #[cfg(test)]
    pub(super) fn new((slot, provider): &(Slot, Provider), places: &Directory) -> Self {
        Self {
            slot: SlotView::new(slot, places.of(slot.location_id)),
            provider: provider.into(),
        }
    }
}

/// The JSON of an `OpenSlotView`, written straight from the row: the lists patients browse are
/// tens of slots, and building each view cost a dozen small strings (four formatted instants,
/// copies of the provider's names), which with their frees were a fifth of a list's time in
/// perf. The same fields in the same order; `open_slot_json_is_the_views_json` holds them equal.
pub(super) struct OpenSlotJson<'a> {
    slot: &'a Slot,
    provider: &'a Provider,
    location: &'a Location,
}

impl<'a> OpenSlotJson<'a> {
    pub(super) fn new((slot, provider): &'a (Slot, Provider), places: &'a Directory) -> Self {
        Self {
            slot,
            provider,
            location: places.of(slot.location_id),
        }
    }
}

impl Serialize for OpenSlotJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let tz = self.location.timezone.tz();
        let mut view = serializer.serialize_struct("OpenSlotView", 11)?;
        view.serialize_field("id", &self.slot.id.get())?;
        view.serialize_field("provider_id", &self.slot.provider_id.get())?;
        view.serialize_field("location_id", &self.location.id.get())?;
        view.serialize_field("start", &Rfc3339(self.slot.starts_at, None))?;
        view.serialize_field("end", &Rfc3339(self.slot.ends_at, None))?;
        view.serialize_field("local_start", &Rfc3339(self.slot.starts_at, Some(tz)))?;
        view.serialize_field("local_end", &Rfc3339(self.slot.ends_at, Some(tz)))?;
        view.serialize_field("timezone", tz.name())?;
        view.serialize_field("status", self.slot.status.as_str())?;
        view.serialize_field("visit_type", &self.slot.visit_type)?;
        view.serialize_field("provider", &ProviderJson(self.provider))?;
        view.end()
    }
}

/// `ProviderSummary`'s JSON, borrowed.
struct ProviderJson<'a>(&'a Provider);

impl Serialize for ProviderJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut provider = serializer.serialize_struct("ProviderSummary", 4)?;
        provider.serialize_field("id", &self.0.id.get())?;
        provider.serialize_field("name", &self.0.name)?;
        provider.serialize_field("title", &self.0.title)?;
        provider.serialize_field("specialty", &self.0.specialty)?;
        provider.end()
    }
}

/// A stored UTC instant as `rfc3339` writes it (no zone) or as `local_rfc3339` does (a zone),
/// formatted into a buffer on the stack. Years outside 0000–9999 and offsets with seconds (local
/// mean time, before 1900) take chrono's formatting.
struct Rfc3339(NaiveDateTime, Option<Tz>);

impl Serialize for Rfc3339 {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use chrono::{Datelike, Offset, TimeZone, Timelike};
        let (local, offset) = match self.1 {
            None => (self.0, None),
            Some(tz) => {
                let offset = tz.offset_from_utc_datetime(&self.0).fix().local_minus_utc();
                (
                    self.0 + chrono::Duration::seconds(i64::from(offset)),
                    Some(offset),
                )
            }
        };
        let year = local.year();
        if !(0..=9999).contains(&year) || offset.is_some_and(|o| o % 60 != 0) {
            return match self.1 {
                None => serializer.serialize_str(&rfc3339(self.0.and_utc())),
                Some(tz) => serializer.serialize_str(&local_rfc3339(self.0, tz)),
            };
        }
        let mut text = *b"0000-00-00T00:00:00+00:00";
        let mut put = |at: usize, value: u32, digits: usize| {
            let mut value = value;
            for i in (at..at + digits).rev() {
                text[i] = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        put(0, year.unsigned_abs(), 4);
        put(5, local.month(), 2);
        put(8, local.day(), 2);
        put(11, local.hour(), 2);
        put(14, local.minute(), 2);
        put(17, local.second(), 2);
        let len = match offset {
            None => {
                text[19] = b'Z';
                20
            }
            Some(offset) => {
                let minutes = offset.unsigned_abs() / 60;
                put(20, minutes / 60, 2);
                put(23, minutes % 60, 2);
                text[19] = if offset < 0 { b'-' } else { b'+' };
                25
            }
        };
        match (std::str::from_utf8(&text[..len]), self.1) {
            (Ok(text), _) => serializer.serialize_str(text),
            (Err(_), None) => serializer.serialize_str(&rfc3339(self.0.and_utc())),
            (Err(_), Some(tz)) => serializer.serialize_str(&local_rfc3339(self.0, tz)),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct PatientView {
    name: String,
    #[schema(format = Email)]
    email: String,
    #[schema(schema_with = phone_schema)]
    phone: Option<String>,
    #[schema(format = Date)]
    date_of_birth: Option<String>,
    /// Whether the patient takes text messages about the visit at `phone`.
    sms_consent: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct VisitTypeSummary {
    #[schema(value_type = i64, minimum = 1, maximum = 2147483647)]
    id: i32,
    #[schema(max_length = 80)]
    name: String,
    #[schema(minimum = 5, maximum = 480)]
    duration_minutes: i32,
}

impl From<&VisitType> for VisitTypeSummary {
    fn from(v: &VisitType) -> Self {
        Self {
            id: v.id.get(),
            name: v.name.clone(),
            duration_minutes: v.duration_minutes,
        }
    }
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
    #[schema(schema_with = reference_schema)]
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
    #[schema(schema_with = source_schema)]
    source: String,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
    concern: Option<Concern>,
    /// Red flags in the intake: the front desk reviews this booking before the visit.
    needs_review: bool,
    /// The language its mails and texts are written in: `en` or `es`.
    #[schema(pattern = "^(en|es)$", max_length = 2)]
    language: &'static str,
    /// Only in the answer that made the booking: the patient's key to read, cancel and move it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = manage_token_schema)]
    manage_token: Option<String>,
    /// `queued` in the answer that made the booking.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = confirmation_email_schema)]
    confirmation_email: Option<&'static str>,
}

/// What a new booking's answer says of its confirmation: written to the outbox, to go out with
/// the worker's next round.
const CONFIRMATION_QUEUED: &str = "queued";

impl BookingView {
    pub(super) fn new(details: &BookingDetails) -> Self {
        let b = &details.booking;
        Self {
            reference: b.reference.clone(),
            status: b.status.as_str().to_owned(),
            slot: SlotView::new(&details.slot, &details.location),
            provider: (&details.provider).into(),
            location: (&details.location).into(),
            visit_type: details.visit_type.as_ref().map(VisitTypeSummary::from),
            patient: PatientView {
                name: b.patient_name.clone(),
                email: b.patient_email.clone(),
                phone: b.patient_phone.clone(),
                date_of_birth: b.patient_date_of_birth.map(|d| d.to_string()),
                sms_consent: b.sms_consent,
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
            language: b.language.as_str(),
            manage_token: None,
            confirmation_email: None,
        }
    }
}

/// The JSON of a booking as its read, cancel, reschedule and status answers show it.
pub(super) fn booking_json(details: &BookingDetails) -> Result<String, ApiError> {
    Ok(serde_json::to_string(&BookingView::new(details)).map_err(anyhow::Error::from)?)
}

/// A booking just made: the booking, its manage token (the patient's key to it), and the note
/// that its confirmation is on its way.
pub(super) fn new_booking_view(
    details: &BookingDetails,
    state: &AppState,
) -> Result<BookingView, ApiError> {
    let mut view = BookingView::new(details);
    let reference = BookingReference::parse(&details.booking.reference)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("stored reference is malformed")))?;
    view.manage_token = Some(
        state
            .tokens
            .issue_manage_token(&reference, details.slot.ends_at.and_utc())?,
    );
    view.confirmation_email = Some(CONFIRMATION_QUEUED);
    Ok(view)
}

/// The JSON of a booking just made (`new_booking_view`).
pub(super) fn new_booking_json(
    details: &BookingDetails,
    state: &AppState,
) -> Result<String, ApiError> {
    let view = new_booking_view(details, state)?;
    Ok(serde_json::to_string(&view).map_err(anyhow::Error::from)?)
}

/// A 200 with a JSON body that no cache may keep (it holds patient details).
pub(super) fn private_json(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Cache-Control", "no-store"))
        .body(body)
}

/// The document's examples of the main answers: the demo clinic's first provider and a morning
/// of its slots (Redocly checks each example against its schema).
fn provider_summary_example() -> Value {
    json!({
        "id": 1,
        "name": "Dr. Maya Chen",
        "title": "MD, Pain Medicine",
        "specialty": "pain_medicine"
    })
}

/// Slot `id`, from `hour`:00 to `hour`:30 clinic time on 2027-03-01 (Phoenix: UTC-7).
fn slot_example(id: i64, hour: u32, status: &str) -> Value {
    let utc = hour + 7;
    json!({
        "id": id,
        "provider_id": 1,
        "start": format!("2027-03-01T{utc:02}:00:00Z"),
        "end": format!("2027-03-01T{utc:02}:30:00Z"),
        "local_start": format!("2027-03-01T{hour:02}:00:00-07:00"),
        "local_end": format!("2027-03-01T{hour:02}:30:00-07:00"),
        "timezone": "America/Phoenix",
        "status": status,
        "visit_type": null,
        "location_id": 1
    })
}

/// A free slot as the lists show it, with its provider.
pub(super) fn open_slot_example(id: i64, hour: u32) -> Value {
    let mut slot = slot_example(id, hour, SlotStatus::Free.as_str());
    slot["provider"] = provider_summary_example();
    slot
}

/// A booking as reading it answers.
pub(super) fn booking_example() -> Value {
    json!({
        "reference": "BK-7Q2M9XA4KD",
        "status": BookingStatus::Booked.as_str(),
        "slot": slot_example(42, 9, SlotStatus::Busy.as_str()),
        "provider": provider_summary_example(),
        "visit_type": {"id": 1, "name": "New-patient evaluation", "duration_minutes": 30},
        "location": {
            "id": 1,
            "name": "Desert Spine & Pain Clinic",
            "address": "4410 N 7th St, Suite 200, Phoenix, AZ 85014",
            "phone": "+1 (602) 555-0134",
            "timezone": "America/Phoenix"
        },
        "patient": {
            "name": "Ana Díaz",
            "email": "ana@example.com",
            "phone": "+1 602 555 0134",
            "date_of_birth": null,
            "sms_consent": true
        },
        "reason": "Lower-back pain",
        "source": "stress-and-back-pain",
        "created_at": "2027-02-20T18:04:11Z",
        "updated_at": "2027-02-20T18:04:11Z",
        "concern": null,
        "needs_review": false,
        "language": "en"
    })
}

/// A booking as making it answers: with its manage token (here with a made-up signature) and
/// the queued confirmation.
pub(super) fn new_booking_example() -> Value {
    let mut booking = booking_example();
    booking["manage_token"] = json!(
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.\
         eyJzdWIiOiJCSy03UTJNOVhBNEtEIiwiYXVkIjoiY2xpbmljLWJvb2tpbmc6bWFuYWdlIn0.\
         bWFkZS11cC1zaWduYXR1cmU"
    );
    booking["confirmation_email"] = json!(CONFIRMATION_QUEUED);
    booking
}

/// A string schema restricted by one of the domain's patterns; the domain's tests hold each to
/// what its parser accepts (or its writer writes), so the document cannot drift from the server.
pub(super) fn pattern_schema(pattern: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
}

/// `schema` for a field that may also be `null`: `schema_with` replaces what the field's `Option`
/// would have said.
pub(super) fn or_null(schema: ObjectBuilder) -> ObjectBuilder {
    schema.schema_type(
        [Type::String, Type::Null]
            .into_iter()
            .collect::<SchemaType>(),
    )
}

/// A booking reference as the API writes it.
pub(super) fn reference_schema() -> Object {
    pattern_schema(BookingReference::PATTERN).build()
}

/// A booking reference as the API writes it, or `null`.
pub(super) fn optional_reference_schema() -> Object {
    or_null(pattern_schema(BookingReference::PATTERN)).build()
}

/// A waitlist entry's reference as the API writes it, or `null`.
pub(super) fn optional_waitlist_reference_schema() -> Object {
    or_null(pattern_schema(WaitlistReference::PATTERN)).build()
}

/// The schemas parameters take from the domain's patterns, as types: a parameter's
/// `schema_with` would drop its description, example and `required`, while
/// `value_type = ..., inline` keeps them.
macro_rules! parameter_schemas {
    ($($(#[$doc:meta])* $name:ident => $schema:expr;)*) => {$(
        $(#[$doc])*
        pub(super) struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $schema.build().into()
            }
        }
    )*};
}

parameter_schemas! {
    /// A booking reference as a client may type it (`BookingReference::parse`).
    TypedReference => pattern_schema(BookingReference::TYPED_PATTERN).max_length(Some(13));
    /// A source as a public form or page may name it (`BookingSource::parse_public`).
    PublicSource => public_source();
    /// An instant or a local date (`domain::slot::parse_instant`).
    InstantOrDate => instant_or_date();
}

/// A hold's token as the API writes and reads it (`HoldToken`).
pub(super) fn hold_token_schema() -> Object {
    pattern_schema(HoldToken::PATTERN)
        .max_length(Some(37))
        .build()
}

/// A booking's source as stored: an article's slug, `website`, `front_desk`, `schedule_cta`.
pub(super) fn source_schema() -> Object {
    pattern_schema(BookingSource::PATTERN).build()
}

/// A source as a public form may name it (`BookingSource::parse_public`).
pub(super) fn public_source() -> ObjectBuilder {
    pattern_schema(BookingSource::PUBLIC_PATTERN).max_length(Some(64))
}

/// An instant or a local date, as `domain::slot::parse_instant` reads it; 35 characters hold an
/// RFC 3339 instant with nanoseconds and an offset.
pub(super) fn instant_or_date() -> ObjectBuilder {
    pattern_schema(INSTANT_OR_DATE_PATTERN).max_length(Some(35))
}

/// The clinic's time zone, an IANA name.
pub(super) fn time_zone_schema() -> Object {
    pattern_schema(TIME_ZONE_PATTERN)
        .examples(["America/Phoenix"])
        .build()
}

/// A patient's phone as stored (trimmed), or `null`.
pub(super) fn phone_schema() -> Object {
    or_null(pattern_schema(PHONE_PATTERN)).build()
}

/// A JWT the API hands out (a manage or staff token).
pub(super) fn token_schema() -> ObjectBuilder {
    pattern_schema(TOKEN_PATTERN)
}

/// Left out, never `null`, when the answer has no token.
fn manage_token_schema() -> Object {
    token_schema()
        .description(Some(
            "Only in the answer that made the booking: the patient's key to read, cancel and \
             move it",
        ))
        .build()
}

fn confirmation_email_schema() -> Object {
    names_schema([CONFIRMATION_QUEUED])
        .description(Some(
            "`queued` in the answer that made the booking, left out otherwise",
        ))
        .build()
}

/// A string schema that takes exactly `names`: each status and kind enum documents the names its
/// own `as_str` gives, so the document and the server cannot drift apart.
pub(super) fn names_schema(names: impl IntoIterator<Item = &'static str>) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(names))
}

pub(super) fn booking_status_schema() -> Object {
    names_schema(BookingStatus::ALL.map(BookingStatus::as_str)).build()
}

pub(super) fn slot_status_schema() -> Object {
    names_schema(SlotStatus::ALL.map(SlotStatus::as_str)).build()
}

pub(super) fn mail_kind_schema() -> Object {
    names_schema(MailKind::ALL.map(MailKind::as_str)).build()
}

pub(super) fn mail_status_schema() -> Object {
    names_schema(JobStatus::ALL.map(JobStatus::as_str)).build()
}

pub(super) fn actor_kind_schema() -> Object {
    names_schema(ActorKind::ALL.map(ActorKind::as_str)).build()
}

pub(super) fn entity_kind_schema() -> Object {
    names_schema(EntityKind::ALL.map(EntityKind::as_str)).build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{LocationId, ProviderId, SlotId};
    use crate::domain::location::TimeZone;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").expect("a test instant")
    }

    #[test]
    fn instants_are_written_as_chrono_writes_them() {
        let zones = [
            "America/Phoenix",
            "America/New_York",
            "America/St_Johns",
            "Asia/Kathmandu",
            "Australia/Lord_Howe",
            "Europe/London",
            "UTC",
        ];
        let instants = [
            "2027-03-14 06:59:59",
            "2027-03-14 07:00:00",
            "2027-11-07 05:30:00",
            "2027-11-07 06:00:00",
            "2026-12-31 23:59:59",
            "0001-01-01 00:00:00",
            "1883-11-18 18:00:00",
            "9999-12-31 12:00:00",
        ];
        for instant in instants.map(at) {
            assert_eq!(
                serde_json::to_value(Rfc3339(instant, None)).expect("json"),
                Value::String(rfc3339(instant.and_utc())),
                "{instant}"
            );
            for zone in zones {
                let tz: Tz = zone.parse().expect("a zone");
                assert_eq!(
                    serde_json::to_value(Rfc3339(instant, Some(tz))).expect("json"),
                    Value::String(local_rfc3339(instant, tz)),
                    "{instant} in {zone}"
                );
            }
        }
    }

    #[test]
    fn open_slot_json_is_the_views_json() {
        let location = |id, zone| Location {
            id: LocationId::new(id),
            name: "Clinic".into(),
            address: "1 Main St".into(),
            phone: "+1 602 555 0100".into(),
            timezone: TimeZone::parse(zone).expect("a zone"),
            active: true,
            created_at: at("2026-01-01 00:00:00"),
            updated_at: at("2026-01-01 00:00:00"),
        };
        let places = Directory::of_locations(vec![
            location(1, "America/Phoenix"),
            location(2, "America/New_York"),
        ]);
        let provider = Provider {
            id: ProviderId::new(7),
            name: "Dr. \"Ana\" Núñez\n".into(),
            title: "DC".into(),
            specialty: "Chiropractic \\ spine".into(),
            bio: "not shown".into(),
            active: true,
            created_at: at("2026-01-01 00:00:00"),
            updated_at: at("2026-01-01 00:00:00"),
        };
        for (location_id, visit_type) in [(None, None), (Some(2), Some("new-patient"))] {
            let slot = Slot {
                id: SlotId::new(42),
                provider_id: ProviderId::new(7),
                starts_at: at("2027-03-14 06:30:00"),
                ends_at: at("2027-03-14 07:00:00"),
                status: SlotStatus::Free,
                visit_type: visit_type.map(str::to_owned),
                created_at: at("2026-01-01 00:00:00"),
                location_id: location_id.map(LocationId::new),
                hold_id: None,
                held_until: None,
            };
            let open = (slot, provider.clone());
            assert_eq!(
                serde_json::to_string(&OpenSlotJson::new(&open, &places)).expect("json"),
                serde_json::to_string(&OpenSlotView::new(&open, &places)).expect("json"),
            );
        }
    }
}
