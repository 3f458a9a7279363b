//! `GET /api/v1/audit` (admin): who changed what, newest first, a bounded page at a time.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::openapi::schema::Object;

use super::views::{
    actor_kind_schema, entity_kind_schema, names_schema, optional_reference_schema, pattern_schema,
    rfc3339, InstantOrDate, TypedReference,
};
use crate::db::audit::{self, AuditAction, AuditEntry, AuditFilter};
use crate::domain::booking::BookingReference;
use crate::domain::ids::{AuditEntryId, UserId};
use crate::domain::slot::parse_instant;
use crate::error::ApiError;
use crate::routes::access::AdminUser;
use crate::state::AppState;

const DEFAULT_LIMIT: i64 = 100;
pub(super) const MAX_LIMIT: i64 = 500;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct AuditQuery {
    /// Only this booking's entries (`BK-…`).
    #[param(value_type = Option<TypedReference>, inline)]
    reference: Option<String>,
    /// Only changes made by this staff account.
    #[param(minimum = 1, maximum = 2147483647)]
    user_id: Option<i64>,
    /// Entries from this instant or local date on.
    #[param(value_type = Option<InstantOrDate>, inline)]
    from: Option<String>,
    /// Entries before this instant or local date.
    #[param(value_type = Option<InstantOrDate>, inline)]
    to: Option<String>,
    /// The most entries to answer (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
    /// Only entries older than this id: the previous page's `next_before_id`.
    #[param(minimum = 1, maximum = 2147483647)]
    before_id: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct ActorView {
    #[schema(schema_with = actor_kind_schema)]
    kind: String,
    #[schema(value_type = Option<i64>)]
    user_id: Option<i32>,
    name: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct EntryView {
    #[schema(value_type = i64)]
    id: i32,
    #[schema(format = DateTime)]
    at: String,
    actor: ActorView,
    #[schema(schema_with = audit_action_schema)]
    action: String,
    #[schema(schema_with = entity_kind_schema)]
    entity_type: String,
    #[schema(schema_with = entity_id_schema)]
    entity_id: String,
    #[schema(schema_with = optional_reference_schema)]
    booking_reference: Option<String>,
    from: Option<Value>,
    to: Option<Value>,
}

/// What an entry did: the names `AuditAction::as_str` gives, the only ones ever recorded.
fn audit_action_schema() -> Object {
    names_schema(AuditAction::ALL.map(AuditAction::as_str)).build()
}

/// An entry names a booking by its reference and anything else by its row id.
fn entity_id_schema() -> Object {
    // A booking's reference, a course's (`CS-`) or a waitlist entry's (`WL-`): one alphabet.
    let code = BookingReference::PATTERN
        .trim_start_matches("^BK-")
        .trim_end_matches('$');
    pattern_schema(&format!("^(?:[1-9][0-9]{{0,9}}|(?:BK|CS|WL)-{code})$"))
        .description(Some(
            "The booking's, course's or waitlist entry's reference, or the slot's, provider's, \
             user's, visit type's, location's or time off's id",
        ))
        .build()
}

fn parse_state(text: Option<String>) -> Option<Value> {
    text.map(|t| serde_json::from_str(&t).unwrap_or(Value::String(t)))
}

impl From<AuditEntry> for EntryView {
    fn from(e: AuditEntry) -> Self {
        Self {
            id: e.id.get(),
            at: rfc3339(e.at.and_utc()),
            actor: ActorView {
                kind: e.actor_kind.as_str().to_owned(),
                user_id: e.actor_user_id.map(UserId::get),
                name: e.actor,
            },
            action: e.action.as_str().to_owned(),
            entity_type: e.entity_type.as_str().to_owned(),
            entity_id: e.entity_id,
            booking_reference: e.booking_reference,
            from: parse_state(e.from_state),
            to: parse_state(e.to_state),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct AuditPage {
    #[schema(max_items = 500)]
    items: Vec<EntryView>,
    /// Pass as `before_id` for the next (older) page; `null` on the last page.
    #[schema(value_type = Option<i64>)]
    next_before_id: Option<i32>,
}

#[utoipa::path(
    get,
    path = "/api/v1/audit",
    operation_id = "listAuditEntries",
    summary = "Read the audit log",
    description = "Who changed which booking, slot, provider or account, newest first. Page with `limit` (default 100, at most 500) and `before_id` = the previous page's `next_before_id`.",
    tag = "staff",
    security(("staff_jwt" = [])),
    params(AuditQuery),
    responses(
        (status = 200, description = "Audit entries, newest first", body = AuditPage),
        (status = 400),
        (status = 401),
        (status = 403),
        (status = 422),
    ),
)]
pub(super) async fn list(
    state: web::Data<AppState>,
    _admin: AdminUser,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let tz = state.settings.clinic.timezone;
    let query = query.into_inner();
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "`limit` must be between 1 and {MAX_LIMIT}"
        )));
    }
    let instant = |value: &Option<String>, name: &str| -> Result<_, ApiError> {
        value
            .as_deref()
            .map(|v| {
                parse_instant(v, tz)
                    .map(|t| t.naive_utc())
                    .map_err(|m| ApiError::BadRequest(format!("`{name}` {m}")))
            })
            .transpose()
    };
    let filter = AuditFilter {
        booking_reference: match query.reference.as_deref() {
            Some(r) => Some(
                BookingReference::parse(r)
                    .ok_or_else(|| {
                        ApiError::BadRequest("`reference` is not a booking reference".into())
                    })?
                    .as_str()
                    .to_owned(),
            ),
            None => None,
        },
        user_id: query
            .user_id
            .map(|id| UserId::new(i32::try_from(id).unwrap_or(i32::MAX))),
        from: instant(&query.from, "from")?,
        to: instant(&query.to, "to")?,
        before_id: query
            .before_id
            .map(|id| AuditEntryId::new(i32::try_from(id).unwrap_or(i32::MAX))),
    };
    let mut entries = state
        .with_connection(move |conn| audit::list(conn, &filter, limit + 1))
        .await?;
    let more = entries.len() as i64 > limit;
    entries.truncate(limit as usize);
    let next_before_id = if more {
        entries.last().map(|e| e.id.get())
    } else {
        None
    };
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(AuditPage {
            items: entries.into_iter().map(EntryView::from).collect(),
            next_before_id,
        }))
}
