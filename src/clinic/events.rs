//! Webhook events: written where a change is audited (`audit::record` calls `emit`), in the same
//! transaction: one delivery per active endpoint that takes the event, each under the event's one
//! message id. A committed change always has its deliveries, and a rolled-back one never does;
//! the `webhooks` worker sends them. The payload (`type`, `timestamp`, `data`) holds what
//! happened without patient data: ids, references, times, provider, location, visit type,
//! status, and the change as the audit log records it (which never holds patient details). The
//! patient's name, email and phone are added at delivery, for endpoints set to receive them.
//!
//! Below `audit` (which calls it) it reads only `db`: no operation it could call writes audit.

use chrono::{NaiveDateTime, SecondsFormat};
use serde_json::{json, Value};

use crate::db::audit::{AuditAction, EntityKind};
use crate::db::webhooks::{self as stored, DeliveryStatus, NewDelivery};
use crate::db::{bookings, locations, slots, visit_types, DbConnection};
use crate::domain::ids::{BookingId, WebhookEndpointId};
use crate::domain::webhook::{message_id, EventType, EventTypes};

/// The event an audited change is, if any: booking changes, a waitlist entry's steps, a course
/// of care made or cancelled.
fn event_of(action: AuditAction, to: Option<&Value>) -> Option<EventType> {
    Some(match action {
        AuditAction::BookingCreate => EventType::BookingCreated,
        AuditAction::BookingReschedule => EventType::BookingRescheduled,
        AuditAction::BookingStatus if to.is_some_and(|t| t["status"] == "cancelled") => {
            EventType::BookingCancelled
        }
        AuditAction::BookingStatus => EventType::BookingStatusChanged,
        AuditAction::WaitlistJoin => EventType::WaitlistJoined,
        AuditAction::WaitlistOffer => EventType::WaitlistOffered,
        AuditAction::WaitlistAccept => EventType::WaitlistBooked,
        AuditAction::WaitlistRemove => EventType::WaitlistRemoved,
        AuditAction::SeriesCreate => EventType::SeriesCreated,
        AuditAction::SeriesCancel => EventType::SeriesCancelled,
        _ => return None,
    })
}

pub(super) fn utc(at: NaiveDateTime) -> String {
    at.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A booking as a webhook tells it: no patient data.
fn booking_data(
    conn: &mut DbConnection,
    reference: &str,
) -> diesel::QueryResult<Option<(BookingId, Value)>> {
    let Some(booking) = bookings::find_by_reference(conn, reference)? else {
        return Ok(None);
    };
    let Some((slot, provider)) = slots::find_with_provider(conn, booking.slot_id)? else {
        return Ok(None);
    };
    // A slot without a location is the main location's.
    let location = match slot.location_id {
        Some(id) => locations::find(conn, id)?,
        None => None,
    };
    let Some(location) = location.or(locations::main(conn)?) else {
        return Ok(None);
    };
    let visit_type = match booking.visit_type_id {
        Some(id) => visit_types::find(conn, id)?,
        None => None,
    };
    let tz = location.timezone.tz();
    let ends_at = booking.ends_at.unwrap_or(slot.ends_at);
    let series = match booking.series_id {
        Some(id) => crate::db::series::find(conn, id)?.map(|s| s.reference),
        None => None,
    };
    let data = json!({
        "reference": booking.reference,
        "status": booking.status.as_str(),
        "start": utc(slot.starts_at),
        "end": utc(ends_at),
        "local_start": slot.starts_at.and_utc().with_timezone(&tz).to_rfc3339_opts(SecondsFormat::Secs, false),
        "timezone": tz.name(),
        "provider": {"id": provider.id, "name": provider.name},
        "location": {"id": location.id, "name": location.name},
        "visit_type": visit_type.map(|v| json!({"id": v.id, "name": v.name, "duration_minutes": v.duration_minutes})),
        "source": booking.source.as_str(),
        "series_reference": series,
        "created_at": utc(booking.created_at),
    });
    Ok(Some((booking.id, data)))
}

/// Writes the deliveries of an audited change, if it is an event some active endpoint takes.
/// Called by `audit::record`, inside the change's transaction.
pub(crate) fn emit(
    conn: &mut DbConnection,
    action: AuditAction,
    (kind, subject): (EntityKind, &str),
    (from, to): (Option<&Value>, Option<&Value>),
    now: NaiveDateTime,
) -> diesel::QueryResult<()> {
    let Some(event) = event_of(action, to) else {
        return Ok(());
    };
    let takers: Vec<WebhookEndpointId> = stored::active_endpoints(conn)?
        .into_iter()
        .filter(|(_, types)| EventTypes::from_stored(types).contains(event))
        .map(|(id, _)| id)
        .collect();
    if takers.is_empty() {
        return Ok(());
    }
    let change = json!({"from": from, "to": to});
    let found = match kind {
        EntityKind::Booking => booking_data(conn, subject)?,
        _ => None,
    };
    let (booking_id, mut data) = match found {
        Some((id, data)) => (Some(id), data),
        None => (None, json!({"reference": subject})),
    };
    data["change"] = change;
    let payload = json!({
        "type": event.as_str(),
        "timestamp": utc(now),
        "data": data,
    })
    .to_string();
    let id = message_id();
    let deliveries: Vec<NewDelivery<'_>> = takers
        .into_iter()
        .map(|endpoint_id| NewDelivery {
            endpoint_id,
            message_id: &id,
            event_type: event.as_str(),
            subject,
            booking_id,
            payload: &payload,
            status: DeliveryStatus::Pending,
            next_attempt_at: now,
            created_at: now,
        })
        .collect();
    stored::enqueue(conn, &deliveries)
}
