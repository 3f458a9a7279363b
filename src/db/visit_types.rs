//! The `visit_types` table and `visit_type_providers`, which says who offers each type.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::schema::{visit_type_providers, visit_types};
use super::DbConnection;
use crate::domain::ids::{ProviderId, VisitTypeId};
use crate::domain::rules::RuleOverrides;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = visit_types)]
pub struct VisitType {
    pub id: VisitTypeId,
    pub name: String,
    pub description: String,
    pub duration_minutes: i32,
    pub buffer_minutes: i32,
    pub new_patients_online: bool,
    pub active: bool,
    pub min_notice_minutes: Option<i32>,
    pub horizon_days: Option<i32>,
    pub cancel_cutoff_hours: Option<i32>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Whether patients may book a course of it online.
    pub series_online: bool,
}

impl VisitType {
    /// How long the visit itself takes.
    pub fn duration(&self) -> Duration {
        Duration::minutes(i64::from(self.duration_minutes))
    }

    /// The booking rules this visit type sets differently from the clinic's.
    pub fn rule_overrides(&self) -> RuleOverrides {
        RuleOverrides {
            min_notice: self
                .min_notice_minutes
                .map(|m| Duration::minutes(i64::from(m))),
            horizon: self.horizon_days.map(|d| Duration::days(i64::from(d))),
            cancel_cutoff: self
                .cancel_cutoff_hours
                .map(|h| Duration::hours(i64::from(h))),
            max_active_per_email: None,
        }
    }

    /// How much of the provider's time a visit holds: the visit and the buffer after it.
    pub fn held_time(&self) -> Duration {
        Duration::minutes(i64::from(self.duration_minutes) + i64::from(self.buffer_minutes))
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = visit_types)]
pub struct NewVisitType<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub duration_minutes: i32,
    pub buffer_minutes: i32,
    pub new_patients_online: bool,
    pub series_online: bool,
    pub active: bool,
    pub min_notice_minutes: Option<i32>,
    pub horizon_days: Option<i32>,
    pub cancel_cutoff_hours: Option<i32>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl NewVisitType<'_> {
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<VisitType> {
        diesel::insert_into(visit_types::table)
            .values(self)
            .get_result(conn)
    }
}

/// The columns an admin may change; `None` leaves a column as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = visit_types)]
pub struct VisitTypeChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub duration_minutes: Option<i32>,
    pub buffer_minutes: Option<i32>,
    pub new_patients_online: Option<bool>,
    pub series_online: Option<bool>,
    pub active: Option<bool>,
    /// `Some(None)` sets the column to NULL: the clinic's rule again.
    pub min_notice_minutes: Option<Option<i32>>,
    pub horizon_days: Option<Option<i32>>,
    pub cancel_cutoff_hours: Option<Option<i32>>,
    pub updated_at: Option<NaiveDateTime>,
}

pub fn find(conn: &mut DbConnection, id: VisitTypeId) -> QueryResult<Option<VisitType>> {
    visit_types::table
        .find(id)
        .select(VisitType::as_select())
        .get_result(conn)
        .optional()
}

pub(crate) fn find_by_name(conn: &mut DbConnection, name: &str) -> QueryResult<Option<VisitType>> {
    visit_types::table
        .filter(visit_types::name.eq(name))
        .select(VisitType::as_select())
        .get_result(conn)
        .optional()
}

/// Every visit type (or only the active ones), by name.
pub(crate) fn list(conn: &mut DbConnection, active_only: bool) -> QueryResult<Vec<VisitType>> {
    let mut query = visit_types::table
        .select(VisitType::as_select())
        .order((visit_types::name.asc(), visit_types::id.asc()))
        .into_boxed();
    if active_only {
        query = query.filter(visit_types::active.eq(true));
    }
    query.load(conn)
}

/// Applies `changes` and returns the visit type as it now is.
pub(crate) fn update(
    conn: &mut DbConnection,
    id: VisitTypeId,
    changes: &VisitTypeChanges,
) -> QueryResult<VisitType> {
    diesel::update(visit_types::table.find(id))
        .set(changes)
        .execute(conn)?;
    visit_types::table
        .find(id)
        .select(VisitType::as_select())
        .get_result(conn)
}

/// The providers who offer each visit type, as `(visit type, provider)` pairs.
pub(crate) fn offers(conn: &mut DbConnection) -> QueryResult<Vec<(VisitTypeId, ProviderId)>> {
    visit_type_providers::table
        .select((
            visit_type_providers::visit_type_id,
            visit_type_providers::provider_id,
        ))
        .order((
            visit_type_providers::visit_type_id.asc(),
            visit_type_providers::provider_id.asc(),
        ))
        .load(conn)
}

/// The providers who offer one visit type.
pub(crate) fn providers_of(
    conn: &mut DbConnection,
    id: VisitTypeId,
) -> QueryResult<Vec<ProviderId>> {
    visit_type_providers::table
        .filter(visit_type_providers::visit_type_id.eq(id))
        .select(visit_type_providers::provider_id)
        .order(visit_type_providers::provider_id.asc())
        .load(conn)
}

/// Whether `provider` offers the visit type.
pub(crate) fn is_offered_by(
    conn: &mut DbConnection,
    id: VisitTypeId,
    provider: ProviderId,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        visit_type_providers::table
            .filter(visit_type_providers::visit_type_id.eq(id))
            .filter(visit_type_providers::provider_id.eq(provider)),
    ))
    .get_result(conn)
}

/// Replaces the providers who offer the visit type.
pub(crate) fn set_providers(
    conn: &mut DbConnection,
    id: VisitTypeId,
    providers: &[ProviderId],
) -> QueryResult<()> {
    diesel::delete(visit_type_providers::table.filter(visit_type_providers::visit_type_id.eq(id)))
        .execute(conn)?;
    for &provider_id in providers {
        diesel::insert_into(visit_type_providers::table)
            .values((
                visit_type_providers::visit_type_id.eq(id),
                visit_type_providers::provider_id.eq(provider_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}
