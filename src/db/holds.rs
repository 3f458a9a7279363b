//! The `holds` table. A slot is kept for a hold by writing the hold and its end on the slot
//! (`slots::keep`); every read of open time and every claim treats a slot whose `held_until` is
//! still ahead as taken, except for the booking that names that hold (`slots::claim`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::holds;
use super::slots;
use super::DbConnection;
use crate::domain::hold::HoldStatus;
use crate::domain::ids::{BookingId, HoldId, ProviderId, SlotId, VisitTypeId};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = holds)]
pub struct Hold {
    pub id: HoldId,
    pub token_hash: String,
    /// The visit's first slot: the one a booking names.
    pub slot_id: SlotId,
    pub provider_id: ProviderId,
    pub visit_type_id: Option<VisitTypeId>,
    pub starts_at: NaiveDateTime,
    /// Where the visit would end (without its buffer).
    pub ends_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub released_at: Option<NaiveDateTime>,
    pub booking_id: Option<BookingId>,
    pub client_key: Option<String>,
    /// When the sweeper passed an expired hold's time to the waitlist (`clinic::waitlist`).
    pub swept_at: Option<NaiveDateTime>,
}

impl Hold {
    pub fn status(&self, now: NaiveDateTime) -> HoldStatus {
        if self.booking_id.is_some() {
            HoldStatus::Booked
        } else if self.released_at.is_some() {
            HoldStatus::Released
        } else if self.expires_at <= now {
            HoldStatus::Expired
        } else {
            HoldStatus::Active
        }
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = holds)]
pub struct NewHold<'a> {
    pub token_hash: &'a str,
    pub slot_id: SlotId,
    pub provider_id: ProviderId,
    pub visit_type_id: Option<VisitTypeId>,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub client_key: Option<&'a str>,
}

impl NewHold<'_> {
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<Hold> {
        diesel::insert_into(holds::table)
            .values(self)
            .get_result(conn)
    }
}

pub(crate) fn find_by_digest(conn: &mut DbConnection, digest: &str) -> QueryResult<Option<Hold>> {
    holds::table
        .filter(holds::token_hash.eq(digest))
        .select(Hold::as_select())
        .get_result(conn)
        .optional()
}

/// How many live holds (neither expired, let go nor booked) the client `client_key` has.
pub(crate) fn live_for_client(
    conn: &mut DbConnection,
    client_key: &str,
    now: NaiveDateTime,
) -> QueryResult<i64> {
    holds::table
        .filter(holds::client_key.eq(client_key))
        .filter(holds::expires_at.gt(now))
        .filter(holds::released_at.is_null())
        .filter(holds::booking_id.is_null())
        .count()
        .get_result(conn)
}

/// Lets the slots `hold` keeps go at once, and marks it released.
pub(crate) fn release(
    conn: &mut DbConnection,
    hold: HoldId,
    now: NaiveDateTime,
) -> QueryResult<()> {
    slots::let_go_of_hold(conn, hold)?;
    diesel::update(holds::table.find(hold))
        .set(holds::released_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// Records that `hold` became `booking` (its slots are the booking's now).
pub(crate) fn mark_booked(
    conn: &mut DbConnection,
    hold: HoldId,
    booking: BookingId,
) -> QueryResult<()> {
    slots::let_go_of_hold(conn, hold)?;
    diesel::update(holds::table.find(hold))
        .set(holds::booking_id.eq(booking))
        .execute(conn)?;
    Ok(())
}
