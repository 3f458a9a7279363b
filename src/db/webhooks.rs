//! The `webhook_endpoints` an admin registers and the `webhook_deliveries` of events to them.
//! Deliveries are an outbox like mail's: written in the transaction of the change, claimed by a
//! worker under a lease, finished conditionally on the claim. One subject's deliveries to one
//! endpoint go out in order: none is claimed while an earlier one of the same pair is pending.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::schema::{outbox, webhook_deliveries, webhook_endpoints};
use super::{write_transaction, DbConnection};
use crate::domain::ids::{BookingId, WebhookDeliveryId, WebhookEndpointId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    /// Parked after the last attempt (or its endpoint gone): an admin may retry it.
    Failed,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 3] = [Self::Pending, Self::Delivered, Self::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = webhook_endpoints)]
pub struct Endpoint {
    pub id: WebhookEndpointId,
    pub url: String,
    pub description: String,
    /// Comma-separated (`domain::webhook::EventTypes::from_stored`).
    pub event_types: String,
    pub include_patient_data: bool,
    pub active: bool,
    /// Never shown after creation or rotation, never logged.
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<NaiveDateTime>,
    pub failing_since: Option<NaiveDateTime>,
    pub disabled_reason: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = webhook_endpoints)]
pub struct NewEndpoint<'a> {
    pub url: &'a str,
    pub description: &'a str,
    pub event_types: &'a str,
    pub include_patient_data: bool,
    pub active: bool,
    pub secret: &'a str,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl NewEndpoint<'_> {
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<Endpoint> {
        diesel::insert_into(webhook_endpoints::table)
            .values(self)
            .get_result::<Endpoint>(conn)
    }
}

/// What an admin's change of an endpoint sets (each `None` leaves its column alone).
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = webhook_endpoints)]
pub struct EndpointChange {
    pub url: Option<String>,
    pub description: Option<String>,
    pub event_types: Option<String>,
    pub include_patient_data: Option<bool>,
    pub active: Option<bool>,
    /// `Some(None)` clears it (an endpoint turned on again starts afresh).
    pub disabled_reason: Option<Option<String>>,
    pub failing_since: Option<Option<NaiveDateTime>>,
    pub updated_at: Option<NaiveDateTime>,
}

pub fn list_endpoints(conn: &mut DbConnection) -> QueryResult<Vec<Endpoint>> {
    webhook_endpoints::table
        .order(webhook_endpoints::id.asc())
        .select(Endpoint::as_select())
        .load(conn)
}

pub fn find_endpoint(
    conn: &mut DbConnection,
    id: WebhookEndpointId,
) -> QueryResult<Option<Endpoint>> {
    webhook_endpoints::table
        .find(id)
        .select(Endpoint::as_select())
        .get_result(conn)
        .optional()
}

/// The active endpoints (whichever events they take): read by every change that may emit one.
/// On PostgreSQL the rows are share-locked to the change's commit, so an endpoint cannot be
/// deleted between this read and the deliveries written for it (`delete_endpoint` waits).
pub(crate) fn active_endpoints(
    conn: &mut DbConnection,
) -> QueryResult<Vec<(WebhookEndpointId, String)>> {
    let query = webhook_endpoints::table
        .filter(webhook_endpoints::active.eq(true))
        .select((webhook_endpoints::id, webhook_endpoints::event_types));
    match conn {
        DbConnection::Postgres(pg) => query.for_share().load(pg),
        DbConnection::Sqlite(sqlite) => query.load(sqlite),
    }
}

pub(crate) fn update_endpoint(
    conn: &mut DbConnection,
    id: WebhookEndpointId,
    change: &EndpointChange,
) -> QueryResult<Option<Endpoint>> {
    diesel::update(webhook_endpoints::table.find(id))
        .set(change)
        .get_result::<Endpoint>(conn)
        .optional()
}

/// A new secret signs from now on; the old one signs beside it until `old_until`.
pub(crate) fn rotate_secret(
    conn: &mut DbConnection,
    id: WebhookEndpointId,
    (new, old): (&str, &str),
    old_until: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let updated = diesel::update(webhook_endpoints::table.find(id))
        .set((
            webhook_endpoints::secret.eq(new),
            webhook_endpoints::previous_secret.eq(Some(old)),
            webhook_endpoints::previous_secret_until.eq(Some(old_until)),
            webhook_endpoints::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(updated == 1)
}

/// Deletes an endpoint with its deliveries (and any mail about it that has not gone yet).
pub(crate) fn delete_endpoint(conn: &mut DbConnection, id: WebhookEndpointId) -> QueryResult<bool> {
    // First the endpoint's row (PostgreSQL): a change writing deliveries for it finishes first,
    // and those go too; one that starts after finds it gone.
    if let DbConnection::Postgres(pg) = conn {
        webhook_endpoints::table
            .find(id)
            .select(webhook_endpoints::id)
            .for_update()
            .load::<WebhookEndpointId>(pg)?;
    }
    diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::endpoint_id.eq(id)))
        .execute(conn)?;
    diesel::delete(outbox::table.filter(outbox::webhook_endpoint_id.eq(id))).execute(conn)?;
    let deleted = diesel::delete(webhook_endpoints::table.find(id)).execute(conn)?;
    Ok(deleted == 1)
}

/// Since when the endpoint has failed, set at its first failure after a success.
pub(crate) fn note_failure(
    conn: &mut DbConnection,
    id: WebhookEndpointId,
    now: NaiveDateTime,
) -> QueryResult<Option<NaiveDateTime>> {
    diesel::update(
        webhook_endpoints::table
            .find(id)
            .filter(webhook_endpoints::failing_since.is_null()),
    )
    .set(webhook_endpoints::failing_since.eq(Some(now)))
    .execute(conn)?;
    webhook_endpoints::table
        .find(id)
        .select(webhook_endpoints::failing_since)
        .get_result(conn)
        .optional()
        .map(Option::flatten)
}

pub(crate) fn note_success(conn: &mut DbConnection, id: WebhookEndpointId) -> QueryResult<()> {
    diesel::update(
        webhook_endpoints::table
            .find(id)
            .filter(webhook_endpoints::failing_since.is_not_null()),
    )
    .set(webhook_endpoints::failing_since.eq(None::<NaiveDateTime>))
    .execute(conn)?;
    Ok(())
}

/// Parks an endpoint's pending deliveries as failed (it was turned off), saying why.
pub(crate) fn park_pending(
    conn: &mut DbConnection,
    id: WebhookEndpointId,
    reason: &str,
) -> QueryResult<usize> {
    diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::endpoint_id.eq(id))
            .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str())),
    )
    .set((
        webhook_deliveries::status.eq(DeliveryStatus::Failed.as_str()),
        webhook_deliveries::last_error.eq(Some(format!("endpoint turned off: {reason}"))),
        webhook_deliveries::locked_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)
}

/// Turns an active endpoint off, saying why; false if it was off already (another worker got
/// there first). Its pending deliveries are parked as failed, for the admin to retry.
pub(crate) fn disable(
    conn: &mut DbConnection,
    id: WebhookEndpointId,
    reason: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let updated = diesel::update(
        webhook_endpoints::table
            .find(id)
            .filter(webhook_endpoints::active.eq(true)),
    )
    .set((
        webhook_endpoints::active.eq(false),
        webhook_endpoints::disabled_reason.eq(Some(reason)),
        webhook_endpoints::updated_at.eq(now),
    ))
    .execute(conn)?;
    if updated == 1 {
        park_pending(conn, id, reason)?;
    }
    Ok(updated == 1)
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = webhook_deliveries)]
pub struct Delivery {
    pub id: WebhookDeliveryId,
    pub endpoint_id: WebhookEndpointId,
    pub message_id: String,
    pub event_type: String,
    pub subject: String,
    pub booking_id: Option<BookingId>,
    pub payload: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
    pub claim_token: Option<String>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub delivered_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = webhook_deliveries)]
pub struct NewDelivery<'a> {
    pub endpoint_id: WebhookEndpointId,
    pub message_id: &'a str,
    pub event_type: &'a str,
    pub subject: &'a str,
    pub booking_id: Option<BookingId>,
    pub payload: &'a str,
    pub status: DeliveryStatus,
    pub next_attempt_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

pub(crate) fn enqueue(conn: &mut DbConnection, deliveries: &[NewDelivery<'_>]) -> QueryResult<()> {
    for delivery in deliveries {
        diesel::insert_into(webhook_deliveries::table)
            .values(delivery)
            .execute(conn)?;
    }
    Ok(())
}

/// Due deliveries (pending, their time come, not claimed by a live lease) that no earlier pending
/// delivery of the same subject to the same endpoint waits before, oldest first.
fn due_ids(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<WebhookDeliveryId>> {
    let earlier = diesel::alias!(webhook_deliveries as earlier);
    let waiting_behind = earlier
        .filter(
            earlier
                .field(webhook_deliveries::endpoint_id)
                .eq(webhook_deliveries::endpoint_id),
        )
        .filter(
            earlier
                .field(webhook_deliveries::subject)
                .eq(webhook_deliveries::subject),
        )
        .filter(
            earlier
                .field(webhook_deliveries::status)
                .eq(DeliveryStatus::Pending.as_str()),
        )
        .filter(
            earlier
                .field(webhook_deliveries::id)
                .lt(webhook_deliveries::id),
        );
    // An endpoint turned off sends nothing (its pending deliveries are parked as it is).
    let active = webhook_endpoints::table
        .filter(webhook_endpoints::id.eq(webhook_deliveries::endpoint_id))
        .filter(webhook_endpoints::active.eq(true));
    let query = webhook_deliveries::table
        .filter(diesel::dsl::exists(active))
        .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
        .filter(webhook_deliveries::next_attempt_at.le(now))
        .filter(
            webhook_deliveries::locked_until
                .is_null()
                .or(webhook_deliveries::locked_until.lt(now)),
        )
        .filter(diesel::dsl::not(diesel::dsl::exists(waiting_behind)))
        .order(webhook_deliveries::id.asc())
        .limit(limit)
        .select(webhook_deliveries::id);
    match conn {
        DbConnection::Postgres(pg) => query.for_update().skip_locked().load(pg),
        DbConnection::Sqlite(sqlite) => query.load(sqlite),
    }
}

/// Claims up to `limit` due deliveries for `lease` under `token`, counting an attempt each.
pub(crate) fn claim_due(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    lease: Duration,
    limit: i64,
    token: &str,
) -> QueryResult<Vec<(Delivery, Endpoint)>> {
    write_transaction(conn, |conn| {
        let ids = due_ids(conn, now, limit)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        diesel::update(webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(&ids)))
            .set((
                webhook_deliveries::locked_until.eq(now + lease),
                webhook_deliveries::claim_token.eq(token),
                webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1),
            ))
            .execute(conn)?;
        webhook_deliveries::table
            .inner_join(webhook_endpoints::table)
            .filter(webhook_deliveries::id.eq_any(&ids))
            .order(webhook_deliveries::id.asc())
            .select((Delivery::as_select(), Endpoint::as_select()))
            .load(conn)
    })
}

/// Records a claimed delivery's outcome: delivered, waiting for `retry_at`, or (none) parked as
/// failed. False if the claim was lost meanwhile.
pub(crate) fn finish(
    conn: &mut DbConnection,
    id: WebhookDeliveryId,
    token: &str,
    outcome: Result<i32, (Option<i32>, &str, Option<NaiveDateTime>)>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let claimed = webhook_deliveries::table
        .filter(webhook_deliveries::id.eq(id))
        .filter(webhook_deliveries::claim_token.eq(token))
        .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()));
    let updated = match outcome {
        Ok(code) => diesel::update(claimed)
            .set((
                webhook_deliveries::status.eq(DeliveryStatus::Delivered.as_str()),
                webhook_deliveries::delivered_at.eq(Some(now)),
                webhook_deliveries::last_status_code.eq(Some(code)),
                webhook_deliveries::last_error.eq(None::<String>),
                webhook_deliveries::locked_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?,
        Err((code, error, retry_at)) => {
            let status = match retry_at {
                Some(_) => DeliveryStatus::Pending,
                None => DeliveryStatus::Failed,
            };
            diesel::update(claimed)
                .set((
                    webhook_deliveries::status.eq(status.as_str()),
                    webhook_deliveries::next_attempt_at.eq(retry_at.unwrap_or(now)),
                    webhook_deliveries::last_status_code.eq(code),
                    webhook_deliveries::last_error.eq(Some(error)),
                    webhook_deliveries::locked_until.eq(None::<NaiveDateTime>),
                ))
                .execute(conn)?
        }
    };
    Ok(updated == 1)
}

/// An endpoint's deliveries, newest first, of one status or all.
pub fn list_deliveries(
    conn: &mut DbConnection,
    endpoint: WebhookEndpointId,
    status: Option<DeliveryStatus>,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<Delivery>> {
    let mut query = webhook_deliveries::table
        .filter(webhook_deliveries::endpoint_id.eq(endpoint))
        .order(webhook_deliveries::id.desc())
        .limit(limit)
        .offset(offset)
        .select(Delivery::as_select())
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(webhook_deliveries::status.eq(status.as_str()));
    }
    query.load(conn)
}

pub fn find_delivery(
    conn: &mut DbConnection,
    id: WebhookDeliveryId,
) -> QueryResult<Option<Delivery>> {
    webhook_deliveries::table
        .find(id)
        .select(Delivery::as_select())
        .get_result(conn)
        .optional()
}

/// Puts a failed delivery back in the queue, due now, with its attempts counted afresh; false
/// if it is not failed.
pub(crate) fn retry_failed(
    conn: &mut DbConnection,
    id: WebhookDeliveryId,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let updated = diesel::update(
        webhook_deliveries::table
            .find(id)
            .filter(webhook_deliveries::status.eq(DeliveryStatus::Failed.as_str())),
    )
    .set((
        webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()),
        webhook_deliveries::attempts.eq(0),
        webhook_deliveries::next_attempt_at.eq(now),
        webhook_deliveries::claim_token.eq(None::<String>),
        webhook_deliveries::locked_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Hands claimed deliveries that were never tried back to the queue (the claim counted an
/// attempt); only this claim's.
pub(crate) fn release(
    conn: &mut DbConnection,
    ids: &[WebhookDeliveryId],
    token: &str,
) -> QueryResult<usize> {
    diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::id.eq_any(ids))
            .filter(webhook_deliveries::claim_token.eq(token))
            .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str())),
    )
    .set((
        webhook_deliveries::locked_until.eq(None::<NaiveDateTime>),
        webhook_deliveries::claim_token.eq(None::<String>),
        webhook_deliveries::attempts.eq(webhook_deliveries::attempts - 1),
    ))
    .execute(conn)
}
