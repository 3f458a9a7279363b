//! The `waitlist_entries` and `waitlist_offers` tables. Every change of an entry's or an offer's
//! status is a conditional update on the status it was read with, so two requests (two accepts,
//! an accept and the sweeper's expiry) cannot both move one row; and the partial unique index
//! `waitlist_one_live_offer` keeps one live offer per entry whatever the code does.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::bookings::lower;
use super::holds::Hold;
use super::schema::{holds, waitlist_entries, waitlist_offers};
use super::{fixed, DbConnection};
use crate::domain::booking::BookingSource;
use crate::domain::ids::{
    BookingId, HoldId, LocationId, ProviderId, SlotId, VisitTypeId, WaitlistEntryId,
    WaitlistOfferId,
};
use crate::domain::language::Language;
use crate::domain::waitlist::{EntryStatus, OfferStatus, Preferences};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = waitlist_entries)]
pub struct Entry {
    pub id: WaitlistEntryId,
    pub reference: String,
    pub status: EntryStatus,
    pub visit_type_id: VisitTypeId,
    pub provider_id: Option<ProviderId>,
    pub location_id: Option<LocationId>,
    pub earliest_date: NaiveDate,
    pub latest_date: NaiveDate,
    pub weekdays: i32,
    pub day_parts: i32,
    /// The booking an accepted offer moves earlier (cancelling it).
    pub move_booking_id: Option<BookingId>,
    pub patient_name: String,
    pub patient_email: String,
    pub patient_phone: Option<String>,
    pub source: BookingSource,
    pub created_at: NaiveDateTime,
    pub verified_at: Option<NaiveDateTime>,
    pub ended_at: Option<NaiveDateTime>,
    pub booking_id: Option<BookingId>,
    /// The language its mails are written in.
    pub language: Language,
}

impl Entry {
    pub fn preferences(&self) -> Preferences {
        Preferences::from_stored(
            (self.earliest_date, self.latest_date),
            self.weekdays,
            self.day_parts,
        )
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = waitlist_entries)]
pub struct NewEntry<'a> {
    pub reference: &'a str,
    pub status: EntryStatus,
    pub visit_type_id: VisitTypeId,
    pub provider_id: Option<ProviderId>,
    pub location_id: Option<LocationId>,
    pub earliest_date: NaiveDate,
    pub latest_date: NaiveDate,
    pub weekdays: i32,
    pub day_parts: i32,
    pub move_booking_id: Option<BookingId>,
    pub patient_name: &'a str,
    pub patient_email: &'a str,
    pub patient_phone: Option<&'a str>,
    pub source: &'a BookingSource,
    pub created_at: NaiveDateTime,
    pub verified_at: Option<NaiveDateTime>,
    pub language: Language,
}

impl NewEntry<'_> {
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<Entry> {
        diesel::insert_into(waitlist_entries::table)
            .values(self)
            .get_result(conn)
    }
}

pub(crate) fn find_entry(
    conn: &mut DbConnection,
    id: WaitlistEntryId,
) -> QueryResult<Option<Entry>> {
    waitlist_entries::table
        .find(id)
        .select(Entry::as_select())
        .get_result(conn)
        .optional()
}

/// Moves an entry from `from` to `to`; false when it was no longer `from`. Verifying stamps
/// `verified_at`; ending stamps `ended_at`.
pub(crate) fn set_entry_status(
    conn: &mut DbConnection,
    id: WaitlistEntryId,
    (from, to): (EntryStatus, EntryStatus),
    booking: Option<BookingId>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let target = waitlist_entries::table
        .filter(waitlist_entries::id.eq(id))
        .filter(waitlist_entries::status.eq(fixed(from.as_str())));
    let updated = match to {
        EntryStatus::Waiting => diesel::update(target)
            .set((
                waitlist_entries::status.eq(to.as_str()),
                waitlist_entries::verified_at.eq(now),
            ))
            .execute(conn)?,
        EntryStatus::Unverified => 0,
        EntryStatus::Booked | EntryStatus::Removed => diesel::update(target)
            .set((
                waitlist_entries::status.eq(to.as_str()),
                waitlist_entries::ended_at.eq(now),
                waitlist_entries::booking_id.eq(booking),
            ))
            .execute(conn)?,
    };
    Ok(updated == 1)
}

/// Waiting entries that may want time of `provider` at `location` on local dates `from..=until`
/// (their own days and parts of the day are checked by the caller), in the order they joined.
pub(crate) fn waiting_for(
    conn: &mut DbConnection,
    (provider, location): (ProviderId, LocationId),
    (from, until): (NaiveDate, NaiveDate),
) -> QueryResult<Vec<Entry>> {
    waitlist_entries::table
        .filter(waitlist_entries::status.eq(EntryStatus::Waiting.as_str()))
        .filter(
            waitlist_entries::provider_id
                .is_null()
                .or(waitlist_entries::provider_id.eq(provider)),
        )
        .filter(
            waitlist_entries::location_id
                .is_null()
                .or(waitlist_entries::location_id.eq(location)),
        )
        .filter(waitlist_entries::earliest_date.le(until))
        .filter(waitlist_entries::latest_date.ge(from))
        .order((
            waitlist_entries::created_at.asc(),
            waitlist_entries::id.asc(),
        ))
        .select(Entry::as_select())
        .load(conn)
}

/// Whether any entry waits for a date from yesterday (UTC's `today` may be the clinic's
/// tomorrow) on: most changes that free time find none and stop here. Entries whose last date
/// has passed wait for nothing.
pub(crate) fn any_waiting(conn: &mut DbConnection, today: NaiveDate) -> QueryResult<bool> {
    let yesterday = today.pred_opt().unwrap_or(today);
    diesel::select(diesel::dsl::exists(
        waitlist_entries::table
            .filter(waitlist_entries::status.eq(EntryStatus::Waiting.as_str()))
            .filter(waitlist_entries::latest_date.ge(yesterday)),
    ))
    .get_result(conn)
}

/// Entries on the list (waiting or not yet verified) for the staff view: those for `provider`
/// (or any provider) whose dates include `date`, in the order they joined.
pub(crate) fn listed(
    conn: &mut DbConnection,
    provider: Option<ProviderId>,
    date: Option<NaiveDate>,
    limit: i64,
) -> QueryResult<Vec<Entry>> {
    let mut query = waitlist_entries::table
        .filter(waitlist_entries::status.eq_any([
            EntryStatus::Waiting.as_str(),
            EntryStatus::Unverified.as_str(),
        ]))
        .order((
            waitlist_entries::created_at.asc(),
            waitlist_entries::id.asc(),
        ))
        .limit(limit)
        .select(Entry::as_select())
        .into_boxed();
    if let Some(provider) = provider {
        query = query.filter(
            waitlist_entries::provider_id
                .is_null()
                .or(waitlist_entries::provider_id.eq(provider)),
        );
    }
    if let Some(date) = date {
        query = query
            .filter(waitlist_entries::earliest_date.le(date))
            .filter(waitlist_entries::latest_date.ge(date));
    }
    query.load(conn)
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = waitlist_offers)]
pub struct Offer {
    pub id: WaitlistOfferId,
    pub entry_id: WaitlistEntryId,
    pub hold_id: HoldId,
    pub slot_id: SlotId,
    pub provider_id: ProviderId,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub status: OfferStatus,
    pub freed_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub decided_at: Option<NaiveDateTime>,
    pub booking_id: Option<BookingId>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = waitlist_offers)]
pub struct NewOffer {
    pub entry_id: WaitlistEntryId,
    pub hold_id: HoldId,
    pub slot_id: SlotId,
    pub provider_id: ProviderId,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub status: OfferStatus,
    pub freed_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

impl NewOffer {
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<Offer> {
        diesel::insert_into(waitlist_offers::table)
            .values(self)
            .get_result(conn)
    }
}

pub(crate) fn find_offer(
    conn: &mut DbConnection,
    id: WaitlistOfferId,
) -> QueryResult<Option<Offer>> {
    waitlist_offers::table
        .find(id)
        .select(Offer::as_select())
        .get_result(conn)
        .optional()
}

/// The offer that keeps its time with `hold`, if one does.
pub(crate) fn offer_of_hold(conn: &mut DbConnection, hold: HoldId) -> QueryResult<Option<Offer>> {
    waitlist_offers::table
        .filter(waitlist_offers::hold_id.eq(hold))
        .select(Offer::as_select())
        .get_result(conn)
        .optional()
}

/// The entry's offer that is still `offered`, if any (at most one: the unique index).
pub(crate) fn live_offer_of(
    conn: &mut DbConnection,
    entry: WaitlistEntryId,
) -> QueryResult<Option<Offer>> {
    waitlist_offers::table
        .filter(waitlist_offers::entry_id.eq(entry))
        .filter(waitlist_offers::status.eq(fixed(OfferStatus::Offered.as_str())))
        .select(Offer::as_select())
        .get_result(conn)
        .optional()
}

/// Whether the entry was offered a time overlapping `[starts, ends)` before (and let it go):
/// that time goes to the next entry, not back to them, whatever start it is offered from.
pub(crate) fn was_offered(
    conn: &mut DbConnection,
    entry: WaitlistEntryId,
    (starts, ends): (NaiveDateTime, NaiveDateTime),
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        waitlist_offers::table
            .filter(waitlist_offers::entry_id.eq(entry))
            .filter(waitlist_offers::starts_at.lt(ends))
            .filter(waitlist_offers::ends_at.gt(starts)),
    ))
    .get_result(conn)
}

/// Whether the address `email` (whatever its case) holds a live offer, on any of its entries,
/// for a time overlapping `[starts, ends)`.
pub(crate) fn has_live_overlapping(
    conn: &mut DbConnection,
    email: &str,
    (starts, ends): (NaiveDateTime, NaiveDateTime),
    now: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        waitlist_offers::table
            .inner_join(waitlist_entries::table)
            .filter(lower(waitlist_entries::patient_email).eq(lower(email)))
            .filter(waitlist_offers::status.eq(fixed(OfferStatus::Offered.as_str())))
            .filter(waitlist_offers::expires_at.gt(now))
            .filter(waitlist_offers::starts_at.lt(ends))
            .filter(waitlist_offers::ends_at.gt(starts)),
    ))
    .get_result(conn)
}

/// Moves a live offer to `to`; false when it was no longer offered (another accept, a decline,
/// or the sweeper came first) or, for an accept, when it has expired.
pub(crate) fn decide(
    conn: &mut DbConnection,
    id: WaitlistOfferId,
    to: OfferStatus,
    booking: Option<BookingId>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let live = waitlist_offers::table
        .filter(waitlist_offers::id.eq(id))
        .filter(waitlist_offers::status.eq(fixed(OfferStatus::Offered.as_str())));
    let set = (
        waitlist_offers::status.eq(to.as_str()),
        waitlist_offers::decided_at.eq(now),
        waitlist_offers::booking_id.eq(booking),
    );
    let updated = if to == OfferStatus::Expired {
        diesel::update(live).set(set).execute(conn)?
    } else {
        diesel::update(live.filter(waitlist_offers::expires_at.gt(now)))
            .set(set)
            .execute(conn)?
    };
    Ok(updated == 1)
}

/// How many offers stand at each status: the metrics read them at each scrape, so every copy
/// of the app reports the same totals.
pub(crate) fn offer_counts(conn: &mut DbConnection) -> QueryResult<Vec<(OfferStatus, i64)>> {
    waitlist_offers::table
        .group_by(waitlist_offers::status)
        .select((waitlist_offers::status, diesel::dsl::count_star()))
        .load(conn)
}

/// Holds that expired without being booked or let go, and that no sweep has passed on yet,
/// oldest first.
pub(crate) fn expired_unswept_holds(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<Hold>> {
    holds::table
        .filter(holds::swept_at.is_null())
        .filter(holds::released_at.is_null())
        .filter(holds::booking_id.is_null())
        .filter(holds::expires_at.le(now))
        .order((holds::expires_at.asc(), holds::id.asc()))
        .limit(limit)
        .select(Hold::as_select())
        .load(conn)
}

/// Marks an expired hold swept; false when another sweep (another copy) came first.
pub(crate) fn mark_swept(
    conn: &mut DbConnection,
    hold: HoldId,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let updated = diesel::update(
        holds::table
            .filter(holds::id.eq(hold))
            .filter(holds::swept_at.is_null()),
    )
    .set(holds::swept_at.eq(now))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Marks every expired, unswept hold that no offer keeps its time with as swept, in one
/// statement: what a sweep does when nobody waits.
pub(crate) fn mark_swept_without_offers(
    conn: &mut DbConnection,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let offered = waitlist_offers::table.select(waitlist_offers::hold_id);
    diesel::update(
        holds::table
            .filter(holds::swept_at.is_null())
            .filter(holds::released_at.is_null())
            .filter(holds::booking_id.is_null())
            .filter(holds::expires_at.le(now))
            .filter(holds::id.ne_all(offered)),
    )
    .set(holds::swept_at.eq(now))
    .execute(conn)
}

pub(crate) fn find_entry_by_reference(
    conn: &mut DbConnection,
    reference: &str,
) -> QueryResult<Option<Entry>> {
    waitlist_entries::table
        .filter(waitlist_entries::reference.eq(reference))
        .select(Entry::as_select())
        .get_result(conn)
        .optional()
}

/// Records the booking an accepted offer made.
pub(crate) fn set_offer_booking(
    conn: &mut DbConnection,
    id: WaitlistOfferId,
    booking: BookingId,
) -> QueryResult<()> {
    diesel::update(waitlist_offers::table.find(id))
        .set(waitlist_offers::booking_id.eq(booking))
        .execute(conn)?;
    Ok(())
}
