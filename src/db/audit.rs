//! The `audit_log` table: append-only, read newest first.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::audit_log;
use super::DbConnection;
use crate::domain::ids::{AuditEntryId, UserId};

/// Who made a change, as the log files it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum ActorKind {
    Public,
    ManageToken,
    Staff,
    CommandLine,
    System,
}

impl ActorKind {
    pub(crate) const ALL: [Self; 5] = [
        Self::Public,
        Self::ManageToken,
        Self::Staff,
        Self::CommandLine,
        Self::System,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::ManageToken => "manage_token",
            Self::Staff => "staff",
            Self::CommandLine => "command_line",
            Self::System => "system",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == value)
    }
}

/// What kind of thing a change was made to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum EntityKind {
    Booking,
    Slot,
    Provider,
    User,
    VisitType,
    Series,
    Location,
    TimeOff,
    WaitlistEntry,
    WebhookEndpoint,
    Patient,
    Note,
}

impl EntityKind {
    pub const ALL: [Self; 12] = [
        Self::Booking,
        Self::Slot,
        Self::Provider,
        Self::User,
        Self::VisitType,
        Self::Series,
        Self::Location,
        Self::TimeOff,
        Self::WaitlistEntry,
        Self::WebhookEndpoint,
        Self::Patient,
        Self::Note,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Booking => "booking",
            Self::Slot => "slot",
            Self::Provider => "provider",
            Self::User => "user",
            Self::VisitType => "visit_type",
            Self::Series => "series",
            Self::Location => "location",
            Self::TimeOff => "time_off",
            Self::WaitlistEntry => "waitlist_entry",
            Self::WebhookEndpoint => "webhook_endpoint",
            Self::Patient => "patient",
            Self::Note => "note",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == value)
    }
}

/// What a change did, as the log names it (`booking.create`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum AuditAction {
    BookingCreate,
    BookingStatus,
    BookingReschedule,
    ProviderCreate,
    ProviderUpdate,
    ScheduleApply,
    SlotCreate,
    SlotStatus,
    UserCreate,
    VisitTypeCreate,
    VisitTypeUpdate,
    SeriesCreate,
    SeriesCancel,
    LocationCreate,
    LocationUpdate,
    TimeOffCreate,
    TimeOffDelete,
    WaitlistJoin,
    WaitlistVerify,
    WaitlistRemove,
    WaitlistOffer,
    WaitlistAccept,
    WaitlistDecline,
    WaitlistExpire,
    WebhookCreate,
    WebhookUpdate,
    WebhookRotate,
    WebhookDelete,
    WebhookDisable,
    WebhookRetry,
    CalendarFeedRotate,
    CalendarFeedRevoke,
    PatientMerge,
    PatientDistinct,
    PatientExport,
    PatientErase,
    NoteCreate,
    NoteUpdate,
    NoteDelete,
}

impl AuditAction {
    pub const ALL: [Self; 39] = [
        Self::BookingCreate,
        Self::BookingStatus,
        Self::BookingReschedule,
        Self::ProviderCreate,
        Self::ProviderUpdate,
        Self::ScheduleApply,
        Self::SlotCreate,
        Self::SlotStatus,
        Self::UserCreate,
        Self::VisitTypeCreate,
        Self::VisitTypeUpdate,
        Self::SeriesCreate,
        Self::SeriesCancel,
        Self::LocationCreate,
        Self::LocationUpdate,
        Self::TimeOffCreate,
        Self::TimeOffDelete,
        Self::WaitlistJoin,
        Self::WaitlistVerify,
        Self::WaitlistRemove,
        Self::WaitlistOffer,
        Self::WaitlistAccept,
        Self::WaitlistDecline,
        Self::WaitlistExpire,
        Self::WebhookCreate,
        Self::WebhookUpdate,
        Self::WebhookRotate,
        Self::WebhookDelete,
        Self::WebhookDisable,
        Self::WebhookRetry,
        Self::CalendarFeedRotate,
        Self::CalendarFeedRevoke,
        Self::PatientMerge,
        Self::PatientDistinct,
        Self::PatientExport,
        Self::PatientErase,
        Self::NoteCreate,
        Self::NoteUpdate,
        Self::NoteDelete,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::BookingCreate => "booking.create",
            Self::BookingStatus => "booking.status",
            Self::BookingReschedule => "booking.reschedule",
            Self::ProviderCreate => "provider.create",
            Self::ProviderUpdate => "provider.update",
            Self::ScheduleApply => "schedule.apply",
            Self::SlotCreate => "slot.create",
            Self::SlotStatus => "slot.status",
            Self::UserCreate => "user.create",
            Self::VisitTypeCreate => "visit_type.create",
            Self::VisitTypeUpdate => "visit_type.update",
            Self::SeriesCreate => "series.create",
            Self::SeriesCancel => "series.cancel",
            Self::LocationCreate => "location.create",
            Self::LocationUpdate => "location.update",
            Self::TimeOffCreate => "time_off.create",
            Self::TimeOffDelete => "time_off.delete",
            Self::WaitlistJoin => "waitlist.join",
            Self::WaitlistVerify => "waitlist.verify",
            Self::WaitlistRemove => "waitlist.remove",
            Self::WaitlistOffer => "waitlist.offer",
            Self::WaitlistAccept => "waitlist.accept",
            Self::WaitlistDecline => "waitlist.decline",
            Self::WaitlistExpire => "waitlist.expire",
            Self::WebhookCreate => "webhook.create",
            Self::WebhookUpdate => "webhook.update",
            Self::WebhookRotate => "webhook.rotate_secret",
            Self::WebhookDelete => "webhook.delete",
            Self::WebhookDisable => "webhook.disable",
            Self::WebhookRetry => "webhook.retry_delivery",
            Self::CalendarFeedRotate => "calendar_feed.rotate",
            Self::CalendarFeedRevoke => "calendar_feed.revoke",
            Self::PatientMerge => "patient.merge",
            Self::PatientDistinct => "patient.not_duplicate",
            Self::PatientExport => "patient.export",
            Self::PatientErase => "patient.erase",
            Self::NoteCreate => "note.create",
            Self::NoteUpdate => "note.update",
            Self::NoteDelete => "note.delete",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == value)
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry {
    pub id: AuditEntryId,
    pub at: NaiveDateTime,
    pub actor_kind: ActorKind,
    pub actor_user_id: Option<UserId>,
    pub actor: String,
    pub action: AuditAction,
    pub entity_type: EntityKind,
    pub entity_id: String,
    pub booking_reference: Option<String>,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = audit_log)]
pub struct NewAuditEntry {
    pub at: NaiveDateTime,
    pub actor_kind: ActorKind,
    pub actor_user_id: Option<UserId>,
    pub actor: String,
    pub action: AuditAction,
    pub entity_type: EntityKind,
    pub entity_id: String,
    pub booking_reference: Option<String>,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
}

impl NewAuditEntry {
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<()> {
        diesel::insert_into(audit_log::table)
            .values(self)
            .execute(conn)?;
        Ok(())
    }
}

/// Which entries to read.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub booking_reference: Option<String>,
    pub user_id: Option<UserId>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    /// Only entries older than this id (the previous page's last).
    pub before_id: Option<AuditEntryId>,
}

/// Entries matching `filter`, newest first, at most `limit`.
pub fn list(
    conn: &mut DbConnection,
    filter: &AuditFilter,
    limit: i64,
) -> QueryResult<Vec<AuditEntry>> {
    let mut query = audit_log::table
        .select(AuditEntry::as_select())
        .order(audit_log::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(reference) = &filter.booking_reference {
        query = query.filter(audit_log::booking_reference.eq(reference.clone()));
    }
    if let Some(user_id) = filter.user_id {
        query = query.filter(audit_log::actor_user_id.eq(user_id));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_log::at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(audit_log::at.lt(to));
    }
    if let Some(before) = filter.before_id {
        query = query.filter(audit_log::id.lt(before));
    }
    query.load(conn)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::AuditAction;

    /// The names are what old entries hold: each reads back as its action, and nothing else does.
    #[test]
    fn action_names_round_trip_and_are_distinct() {
        let names: HashSet<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
        assert_eq!(names.len(), AuditAction::ALL.len());
        for action in AuditAction::ALL {
            assert_eq!(AuditAction::parse(action.as_str()), Some(action));
        }
        for unknown in [
            "",
            "booking",
            "booking.cancel",
            "BOOKING.CREATE",
            " slot.status",
        ] {
            assert_eq!(AuditAction::parse(unknown), None, "{unknown:?}");
        }
    }
}
