//! How domain types sit in columns: ids in integer columns, and every status and kind in a text
//! column as its fixed name. Reading a name the code does not know is an error, never a default:
//! a row written by a newer version, or by hand, fails loudly instead of turning into `booked`.

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::{Integer, Text};

use crate::domain::booking::{BookingSource, BookingStatus};
use crate::domain::ids::{
    AuditEntryId, BookingId, HoldId, LocationId, MailJobId, NoteId, PatientId, ProviderId,
    SeriesId, SlotId, TimeOffId, UserId, VisitTypeId, WaitlistEntryId, WaitlistOfferId,
    WebhookDeliveryId, WebhookEndpointId,
};
use crate::domain::language::Language;
use crate::domain::location::TimeZone;
use crate::domain::slot::SlotStatus;
use crate::domain::staff::Role;
use crate::domain::waitlist::{EntryStatus, OfferStatus};

use super::audit::{ActorKind, AuditAction, EntityKind};
use super::outbox::{JobStatus, MailKind};
use super::webhooks::DeliveryStatus;

macro_rules! integer_columns {
    ($($id:ty),* $(,)?) => {$(
        impl<DB: Backend> ToSql<Integer, DB> for $id
        where
            i32: ToSql<Integer, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
                let id: &'b i32 = self.as_ref();
                id.to_sql(out)
            }
        }

        impl<DB: Backend> FromSql<Integer, DB> for $id
        where
            i32: FromSql<Integer, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                i32::from_sql(bytes).map(Self::new)
            }
        }
    )*};
}

integer_columns!(
    ProviderId,
    SlotId,
    BookingId,
    UserId,
    MailJobId,
    AuditEntryId,
    VisitTypeId,
    SeriesId,
    LocationId,
    TimeOffId,
    HoldId,
    WaitlistEntryId,
    WaitlistOfferId,
    WebhookEndpointId,
    WebhookDeliveryId,
    PatientId,
    NoteId
);

/// Each type with the function that reads it back from its stored name.
macro_rules! text_columns {
    ($($ty:ty => $parse:expr),* $(,)?) => {$(
        impl<DB: Backend> ToSql<Text, DB> for $ty
        where
            str: ToSql<Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
                self.as_str().to_sql(out)
            }
        }

        impl<DB: Backend> FromSql<Text, DB> for $ty
        where
            String: FromSql<Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                let stored = String::from_sql(bytes)?;
                $parse(&stored).ok_or_else(|| {
                    format!("unknown {} {stored:?} in the database", stringify!($ty)).into()
                })
            }
        }
    )*};
}

text_columns! {
    SlotStatus => SlotStatus::parse,
    BookingStatus => BookingStatus::parse,
    BookingSource => BookingSource::from_stored,
    Role => Role::parse,
    MailKind => MailKind::parse,
    JobStatus => JobStatus::parse,
    ActorKind => ActorKind::parse,
    EntityKind => EntityKind::parse,
    AuditAction => AuditAction::parse,
    TimeZone => TimeZone::parse,
    EntryStatus => EntryStatus::parse,
    OfferStatus => OfferStatus::parse,
    DeliveryStatus => DeliveryStatus::parse,
    Language => Language::parse_stored,
}
