//! Who changed what. Every write to a booking, slot, provider or user records an entry in the
//! same transaction as the change, so the log and the data never disagree. Entries name bookings
//! by reference and people by account: never patient details, passwords or tokens. The one free
//! text is a staff member's reason for setting the booking rules aside (`rules::Allowed`), kept
//! here for admins to read because it may mention the patient, and written to no log line.

use chrono::NaiveDateTime;
use serde_json::Value;

use crate::db::audit::{ActorKind, AuditAction, EntityKind, NewAuditEntry};
use crate::db::DbConnection;
use crate::domain::actor::Actor;
use crate::domain::ids::{
    LocationId, NoteId, PatientId, ProviderId, SlotId, TimeOffId, UserId, VisitTypeId,
    WebhookEndpointId,
};

/// What was changed.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Entity<'a> {
    Booking(&'a str),
    Slot(SlotId),
    Provider(ProviderId),
    User(UserId),
    VisitType(VisitTypeId),
    Series(&'a str),
    Location(LocationId),
    TimeOff(TimeOffId),
    WaitlistEntry(&'a str),
    WebhookEndpoint(WebhookEndpointId),
    Patient(PatientId),
    Note(NoteId),
}

impl Entity<'_> {
    fn kind(&self) -> EntityKind {
        match self {
            Self::Booking(_) => EntityKind::Booking,
            Self::Slot(_) => EntityKind::Slot,
            Self::Provider(_) => EntityKind::Provider,
            Self::User(_) => EntityKind::User,
            Self::VisitType(_) => EntityKind::VisitType,
            Self::Series(_) => EntityKind::Series,
            Self::Location(_) => EntityKind::Location,
            Self::TimeOff(_) => EntityKind::TimeOff,
            Self::WaitlistEntry(_) => EntityKind::WaitlistEntry,
            Self::WebhookEndpoint(_) => EntityKind::WebhookEndpoint,
            Self::Patient(_) => EntityKind::Patient,
            Self::Note(_) => EntityKind::Note,
        }
    }

    fn id(&self) -> String {
        match self {
            Self::Booking(reference) => (*reference).to_owned(),
            Self::Slot(id) => id.to_string(),
            Self::Provider(id) => id.to_string(),
            Self::User(id) => id.to_string(),
            Self::VisitType(id) => id.to_string(),
            Self::Series(reference) => (*reference).to_owned(),
            Self::Location(id) => id.to_string(),
            Self::TimeOff(id) => id.to_string(),
            Self::WaitlistEntry(reference) => (*reference).to_owned(),
            Self::WebhookEndpoint(id) => id.to_string(),
            Self::Patient(id) => id.to_string(),
            Self::Note(id) => id.to_string(),
        }
    }
}

fn actor_kind(actor: &Actor) -> ActorKind {
    match actor {
        Actor::Public => ActorKind::Public,
        Actor::ManageToken(_) => ActorKind::ManageToken,
        Actor::Staff(_) => ActorKind::Staff,
        Actor::CommandLine => ActorKind::CommandLine,
        Actor::System => ActorKind::System,
    }
}

/// Records one change, and the webhook event it is, if it is one (`events::emit`). Call inside
/// the transaction that makes it.
pub(crate) fn record(
    conn: &mut DbConnection,
    actor: &Actor,
    action: AuditAction,
    entity: Entity<'_>,
    from: Option<Value>,
    to: Option<Value>,
    now: NaiveDateTime,
) -> diesel::QueryResult<()> {
    let (kind, subject) = (entity.kind(), entity.id());
    let booking_reference = match entity {
        Entity::Booking(reference) => Some(reference.to_owned()),
        _ => None,
    };
    NewAuditEntry {
        at: now,
        actor_kind: actor_kind(actor),
        actor_user_id: actor.user_id(),
        actor: actor.label(),
        action,
        entity_type: kind,
        entity_id: subject.clone(),
        booking_reference,
        from_state: from.as_ref().map(Value::to_string),
        to_state: to.as_ref().map(Value::to_string),
    }
    .insert(conn)?;
    super::events::emit(
        conn,
        action,
        (kind, &subject),
        (from.as_ref(), to.as_ref()),
        now,
    )
}
