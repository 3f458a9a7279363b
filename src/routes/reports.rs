//! `GET /api/v1/admin/reports`: the admins' report per provider and period (`clinic::reports`),
//! as JSON, or as CSV for a spreadsheet when the `Accept` header prefers `text/csv`.

use std::collections::{BTreeMap, BTreeSet};

use actix_web::http::header::{self, Accept, Header};
use actix_web::{mime, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use utoipa::openapi::schema::{KnownFormat, Object, ObjectBuilder, SchemaFormat, Type};

use super::views::{pattern_schema, requested_id, rfc3339, time_zone_schema};
use crate::clinic::reports::{self, Period, ProviderReport, VisitTypeCount};
use crate::domain::booking::BookingSource;
use crate::domain::calendar;
use crate::domain::ids::{ProviderId, VisitTypeId};
use crate::error::ApiError;
use crate::routes::access::AdminUser;
use crate::state::AppState;

/// The columns every CSV row starts with; one per source and one per visit type follow.
const CSV_COLUMNS: [&str; 13] = [
    "provider_id",
    "provider",
    "available_minutes",
    "booked_minutes",
    "utilization",
    "bookings",
    "completed",
    "no_shows",
    "no_show_rate",
    "cancellations",
    "late_cancellations",
    "late_cancellation_rate",
    "median_lead_time_minutes",
];

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct ProviderReportQuery {
    /// The period's first day, a local date in the clinic's time zone.
    #[param(format = Date, max_length = 10, example = "2027-03-01")]
    from: String,
    /// Its last day, included: not before `from`, at most 366 days after it.
    #[param(format = Date, max_length = 10, example = "2027-03-31")]
    to: String,
    /// Only this provider (an unknown one is a 404).
    #[param(minimum = 1, maximum = 2147483647)]
    provider_id: Option<i64>,
}

/// The report: the period asked for, and one item per provider.
#[derive(Serialize, utoipa::ToSchema)]
struct PeriodReport {
    /// The first day, as asked.
    #[schema(format = Date)]
    from: String,
    /// The last day, included.
    #[schema(format = Date)]
    to: String,
    /// The zone the days are read in: the clinic's.
    #[schema(schema_with = time_zone_schema)]
    timezone: String,
    /// The first day's local midnight.
    #[schema(format = DateTime)]
    start: String,
    /// The local midnight after the last day (not included).
    #[schema(format = DateTime)]
    end: String,
    /// Every provider with a slot or a booking in the period, by name; with `provider_id`, that
    /// provider only.
    items: Vec<ProviderFigures>,
}

/// One provider's figures. Visits count in the period their (first) slot starts in.
#[derive(Serialize, utoipa::ToSchema)]
struct ProviderFigures {
    #[schema(value_type = i64)]
    provider_id: i32,
    /// The provider's name.
    provider: String,
    /// Minutes of the provider's slots that are free or busy (not blocked).
    available_minutes: i64,
    /// Minutes of visits booked, arrived, completed or missed (from the start to the visit's
    /// end, its buffer not included).
    booked_minutes: i64,
    /// `booked_minutes / available_minutes`, to four decimal places; `null` when no time was
    /// available.
    utilization: Option<f64>,
    /// Visits of every status, cancelled ones included.
    bookings: i64,
    completed: i64,
    no_shows: i64,
    /// `no_shows / (completed + no_shows)`, to four decimal places; `null` when neither.
    no_show_rate: Option<f64>,
    cancellations: i64,
    /// Cancellations made within the cut-off before the visit (the visit type's, else the
    /// clinic's), as the booking rules count it for patients.
    late_cancellations: i64,
    /// `late_cancellations / bookings`, to four decimal places; `null` without bookings.
    late_cancellation_rate: Option<f64>,
    /// The median time from booking to visit, in whole minutes, over the bookings not
    /// cancelled (the lower middle one of an even number); `null` when there are none.
    median_lead_time_minutes: Option<i64>,
    /// Bookings by source: `website`, `front_desk`, `schedule_cta` or an article's slug.
    #[schema(schema_with = by_source_schema)]
    by_source: BTreeMap<String, i64>,
    /// Bookings by visit type, by name; those without one last (`visit_type_id` null).
    by_visit_type: Vec<VisitTypeFigures>,
}

/// `{source: count}`: the keys are sources as stored, the counts at least 1.
fn by_source_schema() -> Object {
    let count = ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(1));
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property_names(Some(
            pattern_schema(BookingSource::PATTERN).max_length(Some(64)),
        ))
        .additional_properties(Some(count))
        .build()
}

#[derive(Serialize, utoipa::ToSchema)]
struct VisitTypeFigures {
    #[schema(value_type = Option<i64>)]
    visit_type_id: Option<i32>,
    /// The visit type's name, or `No visit type`.
    name: String,
    count: i64,
}

impl From<ProviderReport> for ProviderFigures {
    fn from(r: ProviderReport) -> Self {
        Self {
            provider_id: r.provider_id.get(),
            provider: r.provider,
            available_minutes: r.available_minutes,
            booked_minutes: r.booked_minutes,
            utilization: r.utilization,
            bookings: r.bookings,
            completed: r.completed,
            no_shows: r.no_shows,
            no_show_rate: r.no_show_rate,
            cancellations: r.cancellations,
            late_cancellations: r.late_cancellations,
            late_cancellation_rate: r.late_cancellation_rate,
            median_lead_time_minutes: r.median_lead_time_minutes,
            by_source: r.by_source,
            by_visit_type: r
                .by_visit_type
                .into_iter()
                .map(|t| VisitTypeFigures {
                    visit_type_id: t.visit_type_id.map(VisitTypeId::get),
                    name: t.name,
                    count: t.count,
                })
                .collect(),
        }
    }
}

/// The document's example: a provider's week.
fn report_example() -> serde_json::Value {
    serde_json::json!({
        "from": "2027-03-01",
        "to": "2027-03-07",
        "timezone": "America/Phoenix",
        "start": "2027-03-01T07:00:00Z",
        "end": "2027-03-08T07:00:00Z",
        "items": [{
            "provider_id": 1,
            "provider": "Dr. Maya Chen",
            "available_minutes": 240,
            "booked_minutes": 150,
            "utilization": 0.625,
            "bookings": 9,
            "completed": 1,
            "no_shows": 1,
            "no_show_rate": 0.5,
            "cancellations": 5,
            "late_cancellations": 2,
            "late_cancellation_rate": 0.2222,
            "median_lead_time_minutes": 1440,
            "by_source": {"stress-and-back-pain": 1, "front_desk": 4, "website": 4},
            "by_visit_type": [
                {"visit_type_id": 1, "name": "New-patient evaluation", "count": 2},
                {"visit_type_id": null, "name": "No visit type", "count": 7}
            ]
        }]
    })
}

/// The CSV example: the same provider's week.
fn csv_example() -> serde_json::Value {
    serde_json::Value::String(
        [
            "provider_id,provider,available_minutes,booked_minutes,utilization,bookings,completed,no_shows,no_show_rate,\
cancellations,late_cancellations,late_cancellation_rate,median_lead_time_minutes,source: front_desk,\
source: stress-and-back-pain,source: website,visit type: New-patient evaluation,visit type: No visit type",
            "1,Dr. Maya Chen,240,150,0.625,9,1,1,0.5,5,2,0.2222,1440,4,1,4,2,7",
            "",
        ]
        .join("\n"),
    )
}

/// `GET /api/v1/admin/reports?from=&to=&provider_id=`
#[utoipa::path(
    get,
    path = "/api/v1/admin/reports",
    operation_id = "getProviderReport",
    summary = "Utilization, no-shows and cancellations per provider",
    description = "Per provider, for the local days `from` to `to` (both included, in the clinic's time zone, at most 366 days apart): \
the minutes available and booked and their ratio (`utilization`), bookings, completed visits, no-shows and the no-show rate, \
cancellations, late cancellations (within the cut-off) and their rate, the median lead time from booking to visit (bookings not cancelled), \
and bookings by source and by visit type. Visits count in the period their first slot starts in. \
With `Accept: text/csv`, the same as CSV: one row per provider, a column per source and per visit type after the fixed ones.",
    tag = "staff",
    security(("staff_jwt" = [])),
    params(ProviderReportQuery),
    responses(
        (status = 200, description = "The report, as JSON or (with `Accept: text/csv`) CSV", content(
            (PeriodReport = "application/json", example = report_example),
            (String = "text/csv", example = csv_example),
        )),
        (status = 400),
        (status = 401),
        (status = 403),
        (status = 404, description = "No such provider"),
    ),
)]
pub(super) async fn providers_report(
    state: web::Data<AppState>,
    _admin: AdminUser,
    req: HttpRequest,
    query: web::Query<ProviderReportQuery>,
) -> Result<HttpResponse, ApiError> {
    let tz = state.settings.clinic.timezone;
    let date = |name: &str, value: &str| {
        calendar::parse_date(value).map_err(|m| ApiError::BadRequest(format!("`{name}` {m}")))
    };
    let (from, to) = (date("from", &query.from)?, date("to", &query.to)?);
    let period = Period::days(from, to, tz).map_err(ApiError::BadRequest)?;
    let provider: Option<ProviderId> = requested_id(query.provider_id, "provider")?;
    let policy = state.policy.clone();
    let items = state
        .with_connection(move |conn| reports::report(conn, &policy, &period, provider))
        .await?;
    if prefers_csv(&req) {
        let filename = format!("report-{}-to-{}.csv", period.first_day, period.last_day);
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((header::VARY, "Accept"))
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ))
            .body(csv_body(&items)?));
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::VARY, "Accept"))
        .json(PeriodReport {
            from: period.first_day.to_string(),
            to: period.last_day.to_string(),
            timezone: tz.name().to_owned(),
            start: rfc3339(period.start.and_utc()),
            end: rfc3339(period.end.and_utc()),
            items: items.into_iter().map(Into::into).collect(),
        }))
}

/// Whether the client ranks CSV (`text/csv`, `text/*`) before JSON (`application/json`,
/// `application/*`, `*/*`). No `Accept`, or one naming neither, gets JSON.
fn prefers_csv(req: &HttpRequest) -> bool {
    let Ok(accept) = Accept::parse(req) else {
        return false;
    };
    accept
        .ranked()
        .iter()
        .find_map(|m| match (m.type_(), m.subtype()) {
            (mime::TEXT, mime::CSV) | (mime::TEXT, mime::STAR) => Some(true),
            (mime::APPLICATION, mime::JSON)
            | (mime::APPLICATION, mime::STAR)
            | (mime::STAR, mime::STAR) => Some(false),
            _ => None,
        })
        .unwrap_or(false)
}

/// The report as CSV: a row per provider, the fixed columns, then a column per source and per
/// visit type that any provider's bookings have (0 where one has none). Rates left empty are
/// `null`s.
fn csv_body(items: &[ProviderReport]) -> Result<Vec<u8>, ApiError> {
    let sources: BTreeSet<&str> = items
        .iter()
        .flat_map(|r| r.by_source.keys().map(String::as_str))
        .collect();
    // In the order the JSON lists them: by name, those without a type last.
    let visit_types: BTreeSet<(bool, &str, Option<VisitTypeId>)> = items
        .iter()
        .flat_map(|r| r.by_visit_type.iter())
        .map(|t| (t.visit_type_id.is_none(), t.name.as_str(), t.visit_type_id))
        .collect();
    let mut writer = csv::Writer::from_writer(Vec::new());
    let columns = CSV_COLUMNS
        .iter()
        .map(|c| (*c).to_owned())
        .chain(sources.iter().map(|s| format!("source: {s}")))
        .chain(
            visit_types
                .iter()
                .map(|(_, name, _)| format!("visit type: {name}")),
        );
    writer.write_record(columns).map_err(csv_failed)?;
    let rate = |r: Option<f64>| r.map(|r| r.to_string()).unwrap_or_default();
    for r in items {
        let fixed = [
            r.provider_id.to_string(),
            r.provider.clone(),
            r.available_minutes.to_string(),
            r.booked_minutes.to_string(),
            rate(r.utilization),
            r.bookings.to_string(),
            r.completed.to_string(),
            r.no_shows.to_string(),
            rate(r.no_show_rate),
            r.cancellations.to_string(),
            r.late_cancellations.to_string(),
            rate(r.late_cancellation_rate),
            r.median_lead_time_minutes
                .map(|m| m.to_string())
                .unwrap_or_default(),
        ];
        let by_source = sources
            .iter()
            .map(|s| r.by_source.get(*s).copied().unwrap_or(0).to_string());
        let by_type = visit_types
            .iter()
            .map(|(_, _, id)| count_of(&r.by_visit_type, *id).to_string());
        let row = fixed.into_iter().chain(by_source).chain(by_type);
        writer.write_record(row).map_err(csv_failed)?;
    }
    writer
        .into_inner()
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e.into_error())))
}

fn count_of(counts: &[VisitTypeCount], id: Option<VisitTypeId>) -> i64 {
    counts
        .iter()
        .find(|t| t.visit_type_id == id)
        .map_or(0, |t| t.count)
}

fn csv_failed(e: csv::Error) -> ApiError {
    ApiError::Internal(anyhow::Error::new(e))
}
