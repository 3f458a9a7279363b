//! Providers' calendar subscriptions: the secret feed URL each provider's calendar app polls
//! (`/calendar/{token}.ics`), made or replaced by an admin or by the provider's own account,
//! and the visits a feed lists.

use chrono::NaiveDateTime;
use serde_json::json;

use super::appointments::BookingDetails;
use super::audit::{self, Entity};
use super::locations::Directory;
use super::ClinicError;
use crate::db::audit::AuditAction;
use crate::db::bookings::{self, BookingFilter};
use crate::db::providers::{self, Provider};
use crate::db::{calendar_feeds, users, visit_types, DbConnection};
use crate::domain::actor::Actor;
use crate::domain::booking::BookingStatus;
use crate::domain::feed::FeedToken;
use crate::domain::ids::ProviderId;
use crate::domain::staff::{Role, StaffIdentity};

/// Whether this staff member manages `provider`'s feed: an admin does; a provider's own account
/// (`create-user --role provider --provider ID`) does for that provider.
pub(crate) fn may_manage(
    conn: &mut DbConnection,
    staff: &StaffIdentity,
    provider: ProviderId,
) -> Result<bool, ClinicError> {
    Ok(match staff.role {
        Role::Admin => true,
        Role::Provider => users::provider_of(conn, staff.user_id)? == Some(provider),
        Role::FrontDesk => false,
    })
}

/// Makes the provider's feed token, replacing (and so ending) the one before; the token is
/// answered this once.
pub(crate) fn rotate(
    conn: &mut DbConnection,
    provider: ProviderId,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<FeedToken, ClinicError> {
    providers::find(conn, provider)?.ok_or(ClinicError::NotFound("provider"))?;
    let token = FeedToken::generate();
    let had = calendar_feeds::made_at(conn, provider)?.is_some();
    calendar_feeds::replace(conn, provider, &token.digest(), now)?;
    audit::record(
        conn,
        actor,
        AuditAction::CalendarFeedRotate,
        Entity::Provider(provider),
        Some(json!({"calendar_feed": had})),
        Some(json!({"calendar_feed": true})),
        now,
    )?;
    Ok(token)
}

/// Ends the provider's feed (its URL answers 404 from now on).
pub(crate) fn revoke(
    conn: &mut DbConnection,
    provider: ProviderId,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<(), ClinicError> {
    if !calendar_feeds::remove(conn, provider)? {
        return Err(ClinicError::NotFound("calendar feed"));
    }
    audit::record(
        conn,
        actor,
        AuditAction::CalendarFeedRevoke,
        Entity::Provider(provider),
        Some(json!({"calendar_feed": true})),
        Some(json!({"calendar_feed": false})),
        now,
    )?;
    Ok(())
}

/// The provider a token opens and their visits from `from` on (booked, arrived, completed,
/// missed: everything but cancelled ones, which leave the calendar), by start.
pub(crate) fn visits(
    conn: &mut DbConnection,
    token: &FeedToken,
    from: NaiveDateTime,
) -> Result<Option<(Provider, Vec<BookingDetails>)>, ClinicError> {
    let Some(provider_id) = calendar_feeds::provider_with(conn, &token.digest())? else {
        return Ok(None);
    };
    let provider = providers::find(conn, provider_id)?.ok_or(ClinicError::NotFound("provider"))?;
    let filter = BookingFilter {
        from: Some(from),
        provider_id: Some(provider_id),
        statuses: vec![
            BookingStatus::Booked,
            BookingStatus::Arrived,
            BookingStatus::Completed,
            BookingStatus::NoShow,
        ],
        limit: Some(5000),
        ..Default::default()
    };
    let rows = bookings::search(conn, &filter)?;
    let directory = Directory::load(conn)?;
    let types = visit_types::list(conn, false)?;
    let visits = rows
        .into_iter()
        .map(|(booking, slot, provider)| {
            let visit_type = types
                .iter()
                .find(|v| Some(v.id) == booking.visit_type_id)
                .cloned();
            let location = directory.of(slot.location_id).clone();
            BookingDetails::new(booking, slot, provider, visit_type, location)
        })
        .collect();
    Ok(Some((provider, visits)))
}
