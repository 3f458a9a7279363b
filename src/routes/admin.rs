//! Admin views: the mail queue (with retry of parked jobs) and where bookings come from.

use std::collections::BTreeMap;

use actix_web::{web, HttpResponse};
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};

use super::views::{
    mail_kind_schema, mail_status_schema, optional_reference_schema,
    optional_waitlist_reference_schema, rfc3339, source_schema, InstantOrDate,
};
use crate::db::{self, bookings, outbox};
use crate::domain::ids::MailJobId;
use crate::domain::slot::{parse_instant, TimeWindow};
use crate::error::ApiError;
use crate::routes::access::AdminUser;
use crate::state::AppState;

pub(super) const MAX_PAGE: i64 = 200;
const MAX_REPORT_DAYS: i64 = 366;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct OutboxQuery {
    /// Only jobs in this state (default: every state).
    #[param(schema_with = mail_status_schema)]
    status: Option<String>,
    /// The most jobs to answer (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// How many jobs to skip: the next page starts at `offset + limit` (default 0).
    #[param(minimum = 0, maximum = 2147483647)]
    offset: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct OutboxPage {
    #[schema(max_items = 200)]
    items: Vec<OutboxJobView>,
    limit: i64,
    offset: i64,
    /// Jobs due and not yet sent (reminders for later visits are not due yet).
    due: i64,
    /// Since when the longest-waiting due job has been due.
    #[schema(format = DateTime)]
    oldest_due_since: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct RetriedJob {
    #[schema(value_type = i64)]
    id: i32,
    #[schema(schema_with = mail_status_schema)]
    status: String,
    attempts: i32,
    #[schema(format = DateTime)]
    next_attempt_at: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct SourcesReport {
    #[schema(format = DateTime)]
    from: String,
    #[schema(format = DateTime)]
    to: String,
    items: Vec<SourceCounts>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct OutboxJobView {
    #[schema(value_type = i64)]
    id: i32,
    #[schema(schema_with = mail_kind_schema)]
    kind: String,
    /// The booking the mail is about; `null` for a waitlist entry's own mails.
    #[schema(schema_with = optional_reference_schema)]
    booking_reference: Option<String>,
    /// The waitlist entry a waitlist mail is about (`WL-…`), else `null`.
    #[schema(schema_with = optional_waitlist_reference_schema)]
    waitlist_reference: Option<String>,
    #[schema(schema_with = mail_status_schema)]
    status: String,
    attempts: i32,
    #[schema(format = DateTime)]
    next_attempt_at: String,
    #[schema(format = DateTime)]
    sent_at: Option<String>,
    /// The transport's last error, for staff (it may quote the mail server).
    last_error: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
}

impl OutboxJobView {
    fn new(
        job: outbox::OutboxJob,
        booking_reference: Option<String>,
        waitlist_reference: Option<String>,
    ) -> Self {
        Self {
            id: job.id.get(),
            kind: job.kind.as_str().to_owned(),
            booking_reference,
            waitlist_reference,
            status: job.status.as_str().to_owned(),
            attempts: job.attempts,
            next_attempt_at: rfc3339(job.next_attempt_at.and_utc()),
            sent_at: job.sent_at.map(|t| rfc3339(t.and_utc())),
            last_error: job.last_error,
            created_at: rfc3339(job.created_at.and_utc()),
        }
    }
}

/// `GET /api/v1/admin/outbox?status=pending|sent|failed&limit=&offset=`
#[utoipa::path(
    get,
    path = "/api/v1/admin/outbox",
    operation_id = "listMailJobs",
    summary = "List the mail queue",
    description = "The outbox's mail jobs, newest first, with how many are due and since when. Page with `limit` (default 50, at most 200) and `offset`.",
    tag = "staff",
    security(("staff_jwt" = [])),
    params(OutboxQuery),
    responses(
        (status = 200, description = "Mail jobs, newest first", body = OutboxPage),
        (status = 400),
        (status = 401),
        (status = 403),
    ),
)]
pub(super) async fn outbox_jobs(
    state: web::Data<AppState>,
    _admin: AdminUser,
    query: web::Query<OutboxQuery>,
) -> Result<HttpResponse, ApiError> {
    let status = match query.status.as_deref() {
        Some(s) => Some(outbox::JobStatus::parse(s).ok_or_else(|| {
            ApiError::BadRequest("`status` must be pending, sent or failed".into())
        })?),
        None => None,
    };
    let limit = query.limit.unwrap_or(50);
    let offset = query.offset.unwrap_or(0);
    if !(1..=MAX_PAGE).contains(&limit) || offset < 0 {
        return Err(ApiError::BadRequest(format!(
            "`limit` must be 1 to {MAX_PAGE} and `offset` not negative"
        )));
    }
    let (jobs, (pending, oldest)) = state
        .with_connection(move |conn| {
            Ok::<_, ApiError>((
                outbox::list(conn, status, limit, offset)?,
                outbox::due_summary(conn, db::now())?,
            ))
        })
        .await?;
    let items: Vec<OutboxJobView> = jobs
        .into_iter()
        .map(|(job, booking, entry)| OutboxJobView::new(job, booking, entry))
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(OutboxPage {
            items,
            limit,
            offset,
            due: pending,
            oldest_due_since: oldest.map(|t| rfc3339(t.and_utc())),
        }))
}

/// `POST /api/v1/admin/outbox/{id}/retry`: puts a failed job back in the queue.
#[utoipa::path(
    post,
    path = "/api/v1/admin/outbox/{id}/retry",
    operation_id = "retryMailJob",
    summary = "Retry a failed mail job",
    description = "Puts a job that failed every attempt back in the queue; 409 unless it failed.",
    tag = "staff",
    security(("staff_jwt" = [])),
    params(("id" = i64, Path, description = "The mail job id", minimum = 1, maximum = 2147483647)),
    responses(
        (status = 200, description = "Queued again", body = RetriedJob),
        (status = 401),
        (status = 403),
        (status = 404, description = "No such mail job"),
        (status = 409, description = "The job has not failed"),
    ),
)]
pub(super) async fn retry_outbox_job(
    state: web::Data<AppState>,
    _admin: AdminUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = MailJobId::try_from(path.into_inner()).map_err(|_| ApiError::not_found("mail job"))?;
    let job = state
        .with_connection(move |conn| {
            db::write_transaction(conn, |conn| {
                let job = outbox::find(conn, id)?.ok_or_else(|| ApiError::not_found("mail job"))?;
                if !outbox::retry_failed(conn, id, db::now())? {
                    return Err(ApiError::conflict(format!(
                        "only failed mail jobs can be retried; this one is {}",
                        job.status.as_str()
                    )));
                }
                outbox::find(conn, id)?.ok_or_else(|| ApiError::not_found("mail job"))
            })
        })
        .await?;
    state.wake_mail_worker();
    Ok(HttpResponse::Ok().json(RetriedJob {
        id: job.id.get(),
        status: job.status.as_str().to_owned(),
        attempts: job.attempts,
        next_attempt_at: rfc3339(job.next_attempt_at.and_utc()),
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct ReportQuery {
    /// The period's start: an RFC 3339 instant, or a local date (default: 30 days before `to`).
    #[param(value_type = Option<InstantOrDate>, inline)]
    from: Option<String>,
    /// The period's end, exclusive, as `from` (default: now).
    #[param(value_type = Option<InstantOrDate>, inline)]
    to: Option<String>,
}

#[derive(Default, Serialize, utoipa::ToSchema)]
struct SourceCounts {
    #[schema(schema_with = source_schema)]
    source: String,
    bookings: i64,
    cancelled: i64,
    no_shows: i64,
}

/// `GET /api/v1/admin/reports/sources?from=&to=`: bookings made in the period, by source (the
/// article slug, `website`, `front_desk`, ...), with how many were cancelled or missed.
#[utoipa::path(
    get,
    path = "/api/v1/admin/reports/sources",
    operation_id = "getSourcesReport",
    summary = "Bookings by source",
    description = "Bookings made in a period (default the last 30 days, at most 366), by source, with cancellations and no-shows.",
    tag = "staff",
    security(("staff_jwt" = [])),
    params(ReportQuery),
    responses(
        (status = 200, description = "Bookings by source", body = SourcesReport),
        (status = 400),
        (status = 401),
        (status = 403),
    ),
)]
pub(super) async fn sources_report(
    state: web::Data<AppState>,
    _admin: AdminUser,
    query: web::Query<ReportQuery>,
) -> Result<HttpResponse, ApiError> {
    let tz = state.settings.clinic.timezone;
    let now = Utc::now();
    let to = match &query.to {
        Some(v) => parse_instant(v, tz).map_err(|m| ApiError::BadRequest(format!("`to` {m}")))?,
        None => now,
    };
    let from = match &query.from {
        Some(v) => parse_instant(v, tz).map_err(|m| ApiError::BadRequest(format!("`from` {m}")))?,
        None => to
            .checked_sub_signed(Duration::days(30))
            .ok_or_else(|| ApiError::BadRequest("`to` is out of range".into()))?,
    };
    let window = TimeWindow::new(from, to).map_err(ApiError::BadRequest)?;
    if window.end() - window.start() > Duration::days(MAX_REPORT_DAYS) {
        return Err(ApiError::BadRequest(format!(
            "the report covers at most {MAX_REPORT_DAYS} days"
        )));
    }
    let (start, end) = (window.start().naive_utc(), window.end().naive_utc());
    let rows = state
        .with_connection(move |conn| bookings::count_by_source_and_status(conn, start, end))
        .await?;
    let mut by_source: BTreeMap<String, SourceCounts> = BTreeMap::new();
    for (source, status, count) in rows {
        let entry = by_source
            .entry(source.clone())
            .or_insert_with(|| SourceCounts {
                source,
                ..SourceCounts::default()
            });
        entry.bookings += count;
        match status.as_str() {
            "cancelled" => entry.cancelled += count,
            "no_show" => entry.no_shows += count,
            _ => {}
        }
    }
    let mut items: Vec<SourceCounts> = by_source.into_values().collect();
    items.sort_by(|a, b| {
        b.bookings
            .cmp(&a.bookings)
            .then_with(|| a.source.cmp(&b.source))
    });
    Ok(HttpResponse::Ok().json(SourcesReport {
        from: rfc3339(window.start()),
        to: rfc3339(window.end()),
        items,
    }))
}
