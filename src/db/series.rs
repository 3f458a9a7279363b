//! The `series` table: courses of care. Their visits are bookings naming the series.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::bookings::Booking;
use super::schema::{bookings, series, slots};
use super::DbConnection;
use crate::domain::ids::{ProviderId, SeriesId, VisitTypeId};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = series)]
pub struct Series {
    pub id: SeriesId,
    pub reference: String,
    pub visit_type_id: VisitTypeId,
    pub provider_id: ProviderId,
    pub visit_count: i32,
    pub interval_weeks: i32,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = series)]
pub struct NewSeries<'a> {
    pub reference: &'a str,
    pub visit_type_id: VisitTypeId,
    pub provider_id: ProviderId,
    pub visit_count: i32,
    pub interval_weeks: i32,
    pub created_at: NaiveDateTime,
}

impl NewSeries<'_> {
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<Series> {
        diesel::insert_into(series::table)
            .values(self)
            .get_result(conn)
    }
}

pub(crate) fn find(conn: &mut DbConnection, id: SeriesId) -> QueryResult<Option<Series>> {
    series::table
        .find(id)
        .select(Series::as_select())
        .get_result(conn)
        .optional()
}

pub(crate) fn find_by_reference(
    conn: &mut DbConnection,
    reference: &str,
) -> QueryResult<Option<Series>> {
    series::table
        .filter(series::reference.eq(reference))
        .select(Series::as_select())
        .get_result(conn)
        .optional()
}

/// The series' bookings, in order of their visits.
pub(crate) fn bookings_of(conn: &mut DbConnection, id: SeriesId) -> QueryResult<Vec<Booking>> {
    bookings::table
        .inner_join(slots::table)
        .filter(bookings::series_id.eq(id))
        .order((slots::starts_at.asc(), bookings::id.asc()))
        .select(Booking::as_select())
        .load(conn)
}
