//! What the published free time (`/fhir/$bulk-publish`) depends on, cheaply: every change to
//! bookings, slots, schedules, time off, providers, locations and visit types writes an audit
//! entry, and rows are only ever added to the tables the files list. The largest ids (and the
//! time of the last audit entry) change whenever the files would.

use chrono::NaiveDateTime;
use diesel::dsl::max;
use diesel::prelude::*;

use super::schema::{audit_log, locations, providers, slots, visit_types};
use super::DbConnection;
use crate::domain::ids::{AuditEntryId, LocationId, ProviderId, SlotId, VisitTypeId};

/// The state of the published data, as its largest ids and last change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublishedState {
    pub last_audit: Option<AuditEntryId>,
    pub last_change: Option<NaiveDateTime>,
    pub last_slot: Option<SlotId>,
    pub last_provider: Option<ProviderId>,
    pub last_location: Option<LocationId>,
    pub last_visit_type: Option<VisitTypeId>,
}

pub(crate) fn state(conn: &mut DbConnection) -> QueryResult<PublishedState> {
    let (last_audit, last_change) = audit_log::table
        .select((max(audit_log::id), max(audit_log::at)))
        .get_result(conn)?;
    Ok(PublishedState {
        last_audit,
        last_change,
        last_slot: slots::table.select(max(slots::id)).get_result(conn)?,
        last_provider: providers::table
            .select(max(providers::id))
            .get_result(conn)?,
        last_location: locations::table
            .select(max(locations::id))
            .get_result(conn)?,
        last_visit_type: visit_types::table
            .select(max(visit_types::id))
            .get_result(conn)?,
    })
}
