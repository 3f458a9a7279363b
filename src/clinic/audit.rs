//! Who changed what. Every write to a booking, slot, provider or user records an entry in the
//! same transaction as the change, so the log and the data never disagree. Entries name bookings
//! by reference and people by account: never patient details, passwords or tokens.

use chrono::NaiveDateTime;
use serde_json::Value;

use crate::db::audit::NewAuditEntry;
use crate::db::DbConnection;
use crate::domain::actor::Actor;

/// What was changed.
#[derive(Debug, Clone, Copy)]
pub enum Entity<'a> {
    Booking(&'a str),
    Slot(i32),
    Provider(i32),
    User(i32),
}

impl Entity<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Self::Booking(_) => "booking",
            Self::Slot(_) => "slot",
            Self::Provider(_) => "provider",
            Self::User(_) => "user",
        }
    }

    fn id(&self) -> String {
        match self {
            Self::Booking(reference) => (*reference).to_owned(),
            Self::Slot(id) | Self::Provider(id) | Self::User(id) => id.to_string(),
        }
    }
}

/// Records one change. Call inside the transaction that makes it.
pub fn record(
    conn: &mut DbConnection,
    actor: &Actor,
    action: &str,
    entity: Entity<'_>,
    from: Option<Value>,
    to: Option<Value>,
    now: NaiveDateTime,
) -> diesel::QueryResult<()> {
    let booking_reference = match entity {
        Entity::Booking(reference) => Some(reference.to_owned()),
        _ => None,
    };
    NewAuditEntry {
        at: now,
        actor_kind: actor.kind(),
        actor_user_id: actor.user_id(),
        actor: actor.label(),
        action,
        entity_type: entity.kind(),
        entity_id: entity.id(),
        booking_reference,
        from_state: from.map(|v| v.to_string()),
        to_state: to.map(|v| v.to_string()),
    }
    .insert(conn)
}
