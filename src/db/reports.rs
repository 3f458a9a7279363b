//! What the admins' reports read: the slots and the visits that start in a period, for one
//! provider or all, as plain rows. The arithmetic is `clinic::reports`': no date functions or
//! aggregates that differ between SQLite and PostgreSQL.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{bookings, providers, slots, visit_types};
use super::DbConnection;
use crate::domain::booking::{BookingSource, BookingStatus};
use crate::domain::ids::{ProviderId, VisitTypeId};
use crate::domain::slot::SlotStatus;

/// A slot of the period: whose, when, and whether visits may be held in it.
#[derive(Debug, Clone, Queryable)]
pub struct SlotTime {
    pub provider_id: ProviderId,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub status: SlotStatus,
}

/// A booking of the period as the reports count it: its first slot's provider and times, the
/// visit's end, how it stands, where it came from, when it was made and cancelled, and its visit
/// type with that type's own cut-off.
#[derive(Debug, Clone, Queryable)]
pub struct VisitFacts {
    pub provider_id: ProviderId,
    pub starts_at: NaiveDateTime,
    pub slot_ends_at: NaiveDateTime,
    /// Where the visit ends; none only for rows from before visit types (the slot's end).
    pub ends_at: Option<NaiveDateTime>,
    pub status: BookingStatus,
    pub source: BookingSource,
    pub created_at: NaiveDateTime,
    /// When it was cancelled; none for visits not cancelled, and for cancellations older than
    /// the column.
    pub cancelled_at: Option<NaiveDateTime>,
    pub visit_type_id: Option<VisitTypeId>,
    pub visit_type_name: Option<String>,
    pub cancel_cutoff_hours: Option<i32>,
}

/// Every slot starting in `[from, until)`, of `provider` or of all providers, whatever its status.
pub(crate) fn slots_starting(
    conn: &mut DbConnection,
    (from, until): (NaiveDateTime, NaiveDateTime),
    provider: Option<ProviderId>,
) -> QueryResult<Vec<SlotTime>> {
    let mut query = slots::table
        .filter(slots::starts_at.ge(from))
        .filter(slots::starts_at.lt(until))
        .select((
            slots::provider_id,
            slots::starts_at,
            slots::ends_at,
            slots::status,
        ))
        .into_boxed();
    if let Some(id) = provider {
        query = query.filter(slots::provider_id.eq(id));
    }
    query.load(conn)
}

/// Every booking, of any status, whose visit starts in `[from, until)` (its first slot's start),
/// of `provider` or of all providers.
pub(crate) fn visits_starting(
    conn: &mut DbConnection,
    (from, until): (NaiveDateTime, NaiveDateTime),
    provider: Option<ProviderId>,
) -> QueryResult<Vec<VisitFacts>> {
    let mut query = bookings::table
        .inner_join(slots::table)
        .left_join(visit_types::table)
        .filter(slots::starts_at.ge(from))
        .filter(slots::starts_at.lt(until))
        .select((
            slots::provider_id,
            slots::starts_at,
            slots::ends_at,
            bookings::ends_at,
            bookings::status,
            bookings::source,
            bookings::created_at,
            bookings::cancelled_at,
            bookings::visit_type_id,
            visit_types::name.nullable(),
            visit_types::cancel_cutoff_hours.nullable(),
        ))
        .into_boxed();
    if let Some(id) = provider {
        query = query.filter(slots::provider_id.eq(id));
    }
    query.load(conn)
}

/// The names of the providers `ids` (those that exist).
pub(crate) fn provider_names(
    conn: &mut DbConnection,
    ids: &[ProviderId],
) -> QueryResult<Vec<(ProviderId, String)>> {
    providers::table
        .filter(providers::id.eq_any(ids))
        .select((providers::id, providers::name))
        .load(conn)
}
