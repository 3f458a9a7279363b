//! Webhooks: the events the clinic tells other systems about, and the endpoints an admin
//! registers for them.
//!
//! An event is written where its change is audited (`audit::record` calls `emit`), in the same
//! transaction: one delivery per active endpoint that takes the event, each under the event's one
//! message id. A committed change always has its deliveries, and a rolled-back one never does;
//! the `webhooks` worker sends them. The payload (`type`, `timestamp`, `data`) holds what
//! happened without patient data: ids, references, times, provider, location, visit type,
//! status, and the change as the audit log records it (which never holds patient details). The
//! patient's name, email and phone are added at delivery, for endpoints set to receive them.

use chrono::{NaiveDateTime, SecondsFormat};
use serde_json::{json, Value};

use super::audit::{self, Entity};
use super::{locations, ClinicError};
use crate::db::audit::AuditAction;
use crate::db::webhooks::{
    self as stored, DeliveryStatus, Endpoint, EndpointChange, NewDelivery, NewEndpoint,
};
use crate::db::{bookings, slots, visit_types, DbConnection};
use crate::domain::actor::Actor;
use crate::domain::ids::{BookingId, WebhookDeliveryId, WebhookEndpointId};
use crate::domain::webhook::{message_id, EventType, EventTypes, TargetUrl, WebhookSecret};

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

fn utc(at: NaiveDateTime) -> String {
    at.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A booking as a webhook tells it: no patient data.
fn booking_data(
    conn: &mut DbConnection,
    reference: &str,
) -> Result<Option<(BookingId, Value)>, ClinicError> {
    let Some(booking) = bookings::find_by_reference(conn, reference)? else {
        return Ok(None);
    };
    let Some((slot, provider)) = slots::find_with_provider(conn, booking.slot_id)? else {
        return Ok(None);
    };
    let location = locations::of_slot(conn, slot.location_id)?;
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
    entity: Entity<'_>,
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
    let subject = entity.id();
    let change = json!({"from": from, "to": to});
    let (booking_id, mut data) = match entity {
        Entity::Booking(reference) => match booking_data(conn, reference) {
            Ok(Some((id, data))) => (Some(id), data),
            Ok(None) => (None, json!({"reference": reference})),
            Err(ClinicError::Database(e)) => return Err(e),
            Err(_) => (None, json!({"reference": reference})),
        },
        _ => (None, json!({"reference": subject})),
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
            subject: &subject,
            booking_id,
            payload: &payload,
            status: DeliveryStatus::Pending,
            next_attempt_at: now,
            created_at: now,
        })
        .collect();
    stored::enqueue(conn, &deliveries)
}

/// What an admin registers.
pub struct NewWebhook {
    pub url: TargetUrl,
    pub description: String,
    pub events: EventTypes,
    pub include_patient_data: bool,
    pub active: bool,
}

/// The endpoint as an admin sees it (never its secret), with the events it takes.
fn audited_state(endpoint: &Endpoint) -> Value {
    json!({
        "url": endpoint.url,
        "events": EventTypes::from_stored(&endpoint.event_types).names(),
        "include_patient_data": endpoint.include_patient_data,
        "active": endpoint.active,
    })
}

/// Registers an endpoint with a fresh secret; the secret is answered once, here.
pub(crate) fn create(
    conn: &mut DbConnection,
    new: &NewWebhook,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<(Endpoint, WebhookSecret), ClinicError> {
    let secret = WebhookSecret::generate();
    let events = new.events.stored();
    let endpoint = NewEndpoint {
        url: new.url.as_str(),
        description: &new.description,
        event_types: &events,
        include_patient_data: new.include_patient_data,
        active: new.active,
        secret: secret.expose(),
        created_at: now,
        updated_at: now,
    }
    .insert(conn)?;
    audit::record(
        conn,
        actor,
        AuditAction::WebhookCreate,
        Entity::WebhookEndpoint(endpoint.id),
        None,
        Some(audited_state(&endpoint)),
        now,
    )?;
    Ok((endpoint, secret))
}

/// What an admin's change says; each `None` leaves that alone.
#[derive(Default)]
pub struct WebhookChange {
    pub url: Option<TargetUrl>,
    pub description: Option<String>,
    pub events: Option<EventTypes>,
    pub include_patient_data: Option<bool>,
    pub active: Option<bool>,
}

pub(crate) fn update(
    conn: &mut DbConnection,
    id: WebhookEndpointId,
    change: &WebhookChange,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<Endpoint, ClinicError> {
    let before = stored::find_endpoint(conn, id)?.ok_or(ClinicError::NotFound("webhook"))?;
    // Turned on again: it starts afresh, its day of failures forgotten.
    let restarted = change.active == Some(true) && !before.active;
    let endpoint = stored::update_endpoint(
        conn,
        id,
        &EndpointChange {
            url: change.url.as_ref().map(|u| u.as_str().to_owned()),
            description: change.description.clone(),
            event_types: change.events.as_ref().map(EventTypes::stored),
            include_patient_data: change.include_patient_data,
            active: change.active,
            disabled_reason: restarted.then_some(None),
            failing_since: restarted.then_some(None),
            updated_at: Some(now),
        },
    )?
    .ok_or(ClinicError::NotFound("webhook"))?;
    audit::record(
        conn,
        actor,
        AuditAction::WebhookUpdate,
        Entity::WebhookEndpoint(id),
        Some(audited_state(&before)),
        Some(audited_state(&endpoint)),
        now,
    )?;
    Ok(endpoint)
}

/// A new secret, answered once; the old one keeps signing beside it for `overlap` so receivers
/// can switch without losing a delivery.
pub(crate) fn rotate_secret(
    conn: &mut DbConnection,
    id: WebhookEndpointId,
    overlap: chrono::Duration,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<(Endpoint, WebhookSecret), ClinicError> {
    let before = stored::find_endpoint(conn, id)?.ok_or(ClinicError::NotFound("webhook"))?;
    let secret = WebhookSecret::generate();
    stored::rotate_secret(
        conn,
        id,
        (secret.expose(), &before.secret),
        now + overlap,
        now,
    )?;
    audit::record(
        conn,
        actor,
        AuditAction::WebhookRotate,
        Entity::WebhookEndpoint(id),
        None,
        Some(json!({"previous_secret_until": utc(now + overlap)})),
        now,
    )?;
    let endpoint = stored::find_endpoint(conn, id)?.ok_or(ClinicError::NotFound("webhook"))?;
    Ok((endpoint, secret))
}

pub(crate) fn delete(
    conn: &mut DbConnection,
    id: WebhookEndpointId,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<(), ClinicError> {
    let before = stored::find_endpoint(conn, id)?.ok_or(ClinicError::NotFound("webhook"))?;
    stored::delete_endpoint(conn, id)?;
    audit::record(
        conn,
        actor,
        AuditAction::WebhookDelete,
        Entity::WebhookEndpoint(id),
        Some(audited_state(&before)),
        None,
        now,
    )?;
    Ok(())
}

/// Puts a failed delivery back in the queue (its endpoint must be active).
pub(crate) fn retry(
    conn: &mut DbConnection,
    id: WebhookDeliveryId,
    now: NaiveDateTime,
) -> Result<stored::Delivery, ClinicError> {
    let delivery = stored::find_delivery(conn, id)?.ok_or(ClinicError::NotFound("delivery"))?;
    let endpoint = stored::find_endpoint(conn, delivery.endpoint_id)?
        .ok_or(ClinicError::NotFound("delivery"))?;
    if !endpoint.active {
        return Err(ClinicError::invalid(
            "endpoint",
            "the endpoint is disabled; turn it on first (PATCH active: true)",
        ));
    }
    if !stored::retry_failed(conn, id, now)? {
        return Err(ClinicError::invalid(
            "status",
            "only a failed delivery can be retried",
        ));
    }
    stored::find_delivery(conn, id)?.ok_or(ClinicError::NotFound("delivery"))
}

/// Turns off an endpoint that failed too long (or answered 410 Gone), parks its pending
/// deliveries and, for a failing one, mails the admins; all in one transaction, once.
pub(crate) fn disable(
    conn: &mut DbConnection,
    id: WebhookEndpointId,
    reason: &str,
    mail_admins: bool,
    now: NaiveDateTime,
) -> Result<bool, ClinicError> {
    if !stored::disable(conn, id, reason, now)? {
        return Ok(false);
    }
    audit::record(
        conn,
        &Actor::System,
        AuditAction::WebhookDisable,
        Entity::WebhookEndpoint(id),
        Some(json!({"active": true})),
        Some(json!({"active": false, "reason": reason})),
        now,
    )?;
    if mail_admins {
        crate::db::outbox::enqueue_about_webhook(conn, id, now)?;
    }
    Ok(true)
}

/// The patient of a booking, for an endpoint that receives patient data.
pub(crate) fn patient_of(
    conn: &mut DbConnection,
    booking: BookingId,
) -> Result<Option<Value>, ClinicError> {
    Ok(bookings::find_by_id(conn, booking)?.map(
        |b| json!({"name": b.patient_name, "email": b.patient_email, "phone": b.patient_phone}),
    ))
}
