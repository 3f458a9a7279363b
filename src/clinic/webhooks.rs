//! Webhook endpoints an admin registers (the events themselves are written by `events`, where
//! each change is audited): register, change, rotate the secret, delete, retry a delivery, and
//! turn off an endpoint that failed too long.

use chrono::NaiveDateTime;
use serde_json::{json, Value};

use super::audit::{self, Entity};
use super::events::utc;
use super::ClinicError;
use crate::db::audit::AuditAction;
use crate::db::webhooks::{self as stored, Endpoint, EndpointChange, NewEndpoint};
use crate::db::{bookings, DbConnection};
use crate::domain::actor::Actor;
use crate::domain::ids::{BookingId, WebhookDeliveryId, WebhookEndpointId};
use crate::domain::webhook::{EventTypes, TargetUrl, WebhookSecret};

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
    // Turned on again, or pointed elsewhere: it starts afresh, its failures forgotten.
    let restarted = change.active == Some(true) && !before.active;
    let moved = change
        .url
        .as_ref()
        .is_some_and(|u| u.as_str() != before.url);
    // Turned off: what waits to go is parked (failed), for the admin to retry later.
    if change.active == Some(false) && before.active {
        stored::park_pending(conn, id, "turned off by an admin")?;
    }
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
            failing_since: (restarted || moved).then_some(None),
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
    actor: &Actor,
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
    audit::record(
        conn,
        actor,
        AuditAction::WebhookRetry,
        Entity::WebhookEndpoint(endpoint.id),
        Some(json!({"delivery": id.get(), "status": "failed"})),
        Some(json!({"delivery": id.get(), "status": "pending"})),
        now,
    )?;
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
