//! Row identities, one type per table, so a `SlotId` is never passed where a `ProviderId` is
//! meant. They hold the database's integer id; `db::types` maps them to their columns.

use std::fmt;

macro_rules! row_ids {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize, diesel::AsExpression, diesel::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Integer)]
        #[serde(transparent)]
        pub struct $name(i32);

        impl $name {
            pub const fn new(id: i32) -> Self {
                Self(id)
            }

            pub const fn get(self) -> i32 {
                self.0
            }
        }

        /// An id from a request: one beyond the column's range names no row.
        impl TryFrom<i64> for $name {
            type Error = std::num::TryFromIntError;

            fn try_from(id: i64) -> Result<Self, Self::Error> {
                i32::try_from(id).map(Self)
            }
        }

        impl AsRef<i32> for $name {
            fn as_ref(&self) -> &i32 {
                &self.0
            }
        }

        impl From<$name> for i32 {
            fn from(id: $name) -> i32 {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

row_ids! {
    /// A provider (`providers.id`).
    ProviderId,
    /// A slot of a provider's time (`slots.id`).
    SlotId,
    /// A booking's row (`bookings.id`); patients and staff name bookings by reference instead.
    BookingId,
    /// A staff account (`users.id`).
    UserId,
    /// A mail job of the outbox (`outbox.id`).
    MailJobId,
    /// An entry of the audit log (`audit_log.id`).
    AuditEntryId,
    /// A kind of visit, with its length (`visit_types.id`).
    VisitTypeId,
    /// A course of care (`series.id`); named by its reference outside.
    SeriesId,
    /// A place the clinic sees patients, with its time zone (`locations.id`).
    LocationId,
    /// A provider's time off (`time_off.id`).
    TimeOffId,
    /// A time kept for a patient for a few minutes (`holds.id`); named by its token outside.
    HoldId,
    /// A patient's place on the waitlist (`waitlist_entries.id`); named by reference outside.
    WaitlistEntryId,
    /// A freed time offered to one waitlist entry (`waitlist_offers.id`).
    WaitlistOfferId,
    /// A receiver of webhooks an admin registered (`webhook_endpoints.id`).
    WebhookEndpointId,
    /// One event's delivery to one endpoint (`webhook_deliveries.id`).
    WebhookDeliveryId,
    /// A patient's record (`patients.id`): the person the clinic's bookings are for.
    PatientId,
    /// A staff note about a patient or one of their visits (`notes.id`).
    NoteId,
}
