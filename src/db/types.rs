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

/// A timestamp column read without chrono's format parser: SQLite keeps timestamps as text
/// (`2027-03-01 15:00:00`, what diesel writes), and diesel reads them back by trying its list of
/// `strftime` formats, which cost the free-slot lists about a tenth of their time (a few per
/// row, tens of rows per list). This reads the usual form by hand and leaves anything else to
/// diesel; PostgreSQL's binary timestamps go to diesel as before. Use it on a model's field with
/// `#[diesel(deserialize_as = Stamp)]`.
#[derive(Debug, Clone, Copy, diesel::deserialize::FromSqlRow)]
pub struct Stamp(chrono::NaiveDateTime);

impl From<Stamp> for chrono::NaiveDateTime {
    fn from(stamp: Stamp) -> Self {
        stamp.0
    }
}

/// `YYYY-MM-DD HH:MM:SS` (or with `T`), then optionally `.` and 1 to 9 digits; nothing else.
fn parse_stored_timestamp(text: &str) -> Option<chrono::NaiveDateTime> {
    let b = text.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b' ' | b'T')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let nanos = match &b[19..] {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            let n = number(20..b.len())?;
            n * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    let year = i32::try_from(number(0..4)?).ok()?;
    chrono::NaiveDate::from_ymd_opt(year, number(5..7)?, number(8..10)?)?.and_hms_nano_opt(
        number(11..13)?,
        number(14..16)?,
        number(17..19)?,
        nanos,
    )
}

impl FromSql<diesel::sql_types::Timestamp, diesel::sqlite::Sqlite> for Stamp {
    fn from_sql(
        mut value: <diesel::sqlite::Sqlite as Backend>::RawValue<'_>,
    ) -> deserialize::Result<Self> {
        if let Some(stamp) = parse_stored_timestamp(value.read_text()) {
            return Ok(Stamp(stamp));
        }
        <chrono::NaiveDateTime as FromSql<diesel::sql_types::Timestamp, diesel::sqlite::Sqlite>>::from_sql(value)
            .map(Stamp)
    }
}

impl FromSql<diesel::sql_types::Timestamp, diesel::pg::Pg> for Stamp {
    fn from_sql(value: <diesel::pg::Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        <chrono::NaiveDateTime as FromSql<diesel::sql_types::Timestamp, diesel::pg::Pg>>::from_sql(
            value,
        )
        .map(Stamp)
    }
}

/// The backend of `DbConnection` (`diesel::MultiConnection` makes it, in a private module).
type EitherBackend = <super::DbConnection as diesel::Connection>::Backend;

impl FromSql<diesel::sql_types::Timestamp, EitherBackend> for Stamp {
    fn from_sql(value: <EitherBackend as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        value.from_sql::<Self, diesel::sql_types::Timestamp>()
    }
}

#[cfg(test)]
mod stamp_tests {
    use super::parse_stored_timestamp;
    use chrono::NaiveDateTime;

    #[test]
    fn reads_what_diesel_writes_and_refuses_the_rest() {
        let expect = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").ok();
        for text in [
            "2027-03-01 15:00:00",
            "2027-03-01 15:00:00.5",
            "2027-03-01 15:00:00.123456789",
            "1999-12-31 23:59:59.000001",
        ] {
            assert_eq!(parse_stored_timestamp(text), expect(text), "{text}");
        }
        assert_eq!(
            parse_stored_timestamp("2027-03-01T15:00:00"),
            expect("2027-03-01 15:00:00")
        );
        for text in [
            "2027-02-30 15:00:00",
            "2027-03-01 24:00:00",
            "2027-03-01 15:00",
            "2027-03-01 15:00:00Z",
            "2027-03-01 15:00:00.",
            "2027-03-01 15:00:00.1234567890",
            "2027-0a-01 15:00:00",
            "2459580.5",
        ] {
            assert_eq!(parse_stored_timestamp(text), None, "{text}");
        }
    }
}
