//! The one error type of the HTTP layer, rendered as RFC 9457 `application/problem+json`.
//!
//! Policy: persistence returns `QueryResult`; handlers use `?` and land here. `NotFound` from
//! diesel becomes 404, a unique violation 409, pool exhaustion 503, anything else a logged 500
//! whose detail never reaches the client.

use std::collections::BTreeMap;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use serde_json::{json, Value};

use crate::clinic::rules::BrokenRule;
use crate::clinic::{ClinicError, Unavailable};
use crate::domain::booking::BookingStatus;
use crate::domain::rules::{in_words, Rule};
use crate::domain::waitlist::OfferStatus;
use crate::domain::FieldErrors;

pub(crate) const PROBLEM_JSON: &str = "application/problem+json";

#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication required")]
    Unauthorized(String),
    #[error("forbidden")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("method not allowed: {0}")]
    MethodNotAllowed(String),
    #[error("{detail}")]
    Conflict {
        detail: String,
        /// Extra members for the problem document (e.g. the allowed next states).
        extra: BTreeMap<String, Value>,
    },
    #[error("too many requests")]
    TooManyRequests {
        detail: String,
        retry_after_secs: u64,
    },
    #[error("payload too large")]
    PayloadTooLarge(String),
    #[error("invalid fields")]
    Validation(BTreeMap<String, String>),
    #[error("unprocessable: {0}")]
    Unprocessable(String),
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(#[from] anyhow::Error),
    /// Any other refusal, named by its status alone (e.g. a refused CORS preflight).
    #[error("{0}")]
    Status(StatusCode),
}

impl ApiError {
    pub(crate) fn conflict(detail: impl Into<String>) -> Self {
        Self::Conflict {
            detail: detail.into(),
            extra: BTreeMap::new(),
        }
    }

    pub(crate) fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound(what.into())
    }

    /// A 422 for a single field.
    pub(crate) fn invalid(field: &str, message: impl Into<String>) -> Self {
        let mut errors = BTreeMap::new();
        errors.insert(field.to_owned(), message.into());
        Self::Validation(errors)
    }

    fn kind(&self) -> (&'static str, &'static str) {
        match self {
            Self::BadRequest(_) => ("bad-request", "Bad request"),
            Self::Unauthorized(_) => ("unauthorized", "Authentication required"),
            Self::Forbidden(_) => ("forbidden", "Forbidden"),
            Self::NotFound(_) => ("not-found", "Not found"),
            Self::MethodNotAllowed(_) => ("method-not-allowed", "Method not allowed"),
            Self::Conflict { .. } => ("conflict", "Conflict"),
            Self::PayloadTooLarge(_) => ("payload-too-large", "Payload too large"),
            Self::TooManyRequests { .. } => ("too-many-requests", "Too many requests"),
            Self::Validation(_) => ("validation", "Invalid fields"),
            Self::Unprocessable(_) => ("unprocessable", "Unprocessable request"),
            Self::Unavailable(_) => ("unavailable", "Service unavailable"),
            Self::Internal(_) => ("internal", "Internal server error"),
            Self::Status(status) if status.is_server_error() => ("server-error", "Server error"),
            Self::Status(_) => ("refused", "Request refused"),
        }
    }

    pub(crate) fn detail(&self) -> String {
        match self {
            Self::BadRequest(d)
            | Self::Unauthorized(d)
            | Self::Forbidden(d)
            | Self::MethodNotAllowed(d)
            | Self::PayloadTooLarge(d)
            | Self::Unprocessable(d) => d.clone(),
            Self::NotFound(what) => format!("{what} not found"),
            Self::Conflict { detail, .. } | Self::TooManyRequests { detail, .. } => detail.clone(),
            Self::Validation(_) => "one or more fields are invalid; see `errors`".into(),
            Self::Unavailable(_) => {
                "the service is temporarily unavailable; try again shortly".into()
            }
            Self::Internal(_) => "an unexpected error occurred; it has been logged".into(),
            Self::Status(status) => format!(
                "{} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("refused")
            ),
        }
    }
}

/// The error document every 4xx/5xx carries (RFC 9457), for the OpenAPI document. Conflicts
/// may add members such as `allowed_next_states` or `next_available_dates`; a booking rule's
/// refusal adds `rule`, `policy_text` and `clinic_phone`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct ProblemDetails {
    /// A URI naming the kind of problem.
    #[schema(
        rename = "type",
        format = "uri",
        example = "https://clinic-booking.dev/problems/validation"
    )]
    kind: String,
    #[schema(example = "Invalid fields")]
    title: String,
    #[schema(example = 422)]
    status: u16,
    detail: String,
    /// Field → message, on validation errors (422).
    errors: Option<BTreeMap<String, String>>,
    /// On a 409 from a booking rule: the rule that refused (`min_notice`: too soon;
    /// `horizon`: too far ahead; `cancel_cutoff`: too close to the visit to cancel or move it
    /// online; `max_active`: the address holds as many upcoming visits as the clinic allows).
    #[schema(schema_with = rule_schema)]
    rule: Option<String>,
    /// On a 409 from a booking rule: the clinic's words on its booking rules.
    #[schema(max_length = 1000)]
    policy_text: Option<String>,
    /// On a 409 from a booking rule: the number to call.
    #[schema(max_length = 64)]
    clinic_phone: Option<String>,
}

/// The names `rule` takes, from `Rule` itself.
fn rule_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(Rule::ALL.iter().map(|r| r.as_str())))
        .build()
}

/// A booking rule's refusal: what the rule is, in the patient's words, and (when the patient
/// can do nothing online any more) whom to call.
fn broken_rule(broken: BrokenRule) -> ApiError {
    let BrokenRule {
        rule,
        rules,
        policy_text,
        clinic_phone,
    } = broken;
    let detail = match rule {
        Rule::MinNotice => format!(
            "the clinic takes online bookings from {} ahead; choose a later time",
            in_words(rules.min_notice)
        ),
        Rule::Horizon => format!(
            "the clinic takes bookings at most {} ahead; choose an earlier time",
            in_words(rules.horizon)
        ),
        Rule::CancelCutoff => format!(
            "this visit starts in less than {}, too soon to cancel or move it online; \
             please call the clinic at {clinic_phone}",
            in_words(rules.cancel_cutoff)
        ),
        Rule::MaxActive => format!(
            "this email address already holds {} upcoming visits, as many as the clinic \
             takes online; cancel one first, or call the clinic at {clinic_phone}",
            rules.max_active_per_email
        ),
    };
    ApiError::Conflict {
        detail,
        extra: BTreeMap::from([
            ("rule".to_owned(), json!(rule.as_str())),
            ("policy_text".to_owned(), json!(policy_text)),
            ("clinic_phone".to_owned(), json!(clinic_phone)),
        ]),
    }
}

impl From<FieldErrors> for ApiError {
    fn from(errors: FieldErrors) -> Self {
        Self::Validation(errors.into_map())
    }
}

fn names(states: &[BookingStatus]) -> Vec<&'static str> {
    states.iter().map(|s| s.as_str()).collect()
}

/// The one place where the clinic's refusals become HTTP answers: their status, their detail,
/// and the members a client acts on (`slot_id`, `allowed_next_states`, ...).
impl From<ClinicError> for ApiError {
    fn from(error: ClinicError) -> Self {
        let conflict = |detail: &str, members: &[(&str, Value)]| Self::Conflict {
            detail: detail.to_owned(),
            extra: members
                .iter()
                .map(|(name, value)| ((*name).to_owned(), value.clone()))
                .collect(),
        };
        match error {
            ClinicError::NotFound(what) => Self::not_found(what),
            ClinicError::SlotUnavailable { slot_id, reason } => conflict(
                match reason {
                    Unavailable::Started => "this slot has already started; choose a later time",
                    Unavailable::Blocked => {
                        "this slot is not open for booking; choose another time"
                    }
                    Unavailable::Taken => {
                        "this slot has just been booked by someone else; choose another time"
                    }
                    Unavailable::Held => {
                        "another patient is booking this time right now; choose another time, or try again in a few minutes"
                    }
                    Unavailable::DoesNotFit => {
                        "the visit does not fit here: the provider's time runs out before it ends; choose another time"
                    }
                },
                &[("slot_id", json!(slot_id))],
            ),
            ClinicError::InvalidTransition {
                current,
                wanted,
                allowed,
            } => conflict(
                &format!("a {current} booking cannot be {wanted}"),
                &[
                    ("current_status", json!(current.as_str())),
                    ("allowed_next_states", json!(names(&allowed))),
                ],
            ),
            ClinicError::NotNow {
                current,
                rule,
                allowed,
            } => conflict(
                rule,
                &[
                    ("current_status", json!(current.as_str())),
                    ("allowed_next_states", json!(names(&allowed))),
                ],
            ),
            ClinicError::VisitStarted(change) => Self::conflict(format!(
                "this visit has already started and can no longer be {change} online; please call the clinic"
            )),
            ClinicError::ChangedMeanwhile(what) => {
                Self::conflict(format!("the {what} changed meanwhile; reload and try again"))
            }
            ClinicError::NothingFits {
                within_days,
                next_dates,
            } => {
                let hint = if next_dates.is_empty() {
                    "please call the clinic"
                } else {
                    "see `next_available_dates` for days that have room"
                };
                let dates: Vec<String> = next_dates.iter().map(|d| d.to_string()).collect();
                conflict(
                    &format!("no free time fits your request within the next {within_days} days; {hint}"),
                    &[("next_available_dates", json!(dates))],
                )
            }
            ClinicError::ReturningPatientsOnly(name) => Self::conflict(format!(
                "{name} is for returning patients; book a new-patient visit first, or call the clinic"
            )),
            ClinicError::SeriesConflicts(conflicts) => {
                let listed: Vec<Value> = conflicts
                    .iter()
                    .map(|c| {
                        json!({
                            "date": c.date.to_string(),
                            "local_start": c.local_start,
                            "reason": c.reason,
                            "alternatives": c.alternatives.iter().map(|(slot_id, start)| {
                                json!({"slot_id": slot_id, "local_start": start})
                            }).collect::<Vec<_>>(),
                        })
                    })
                    .collect();
                conflict(
                    "some visits of the series cannot be booked, so none were; see `conflicts`",
                    &[("conflicts", json!(listed))],
                )
            }
            ClinicError::SeriesByStaffOnly(name) => Self::conflict(format!(
                "courses of {name} are booked by the clinic; please call us"
            )),
            ClinicError::TooManyHolds(held) => Self::conflict(format!(
                "you are holding {held} times already; book one, or let one go (`DELETE /api/v1/holds/{{token}}`, or `replaces` with its token), before holding another"
            )),
            ClinicError::BrokenRule(broken) => broken_rule(*broken),
            ClinicError::OfferGone(status) => conflict(
                match status {
                    OfferStatus::Accepted => {
                        "this offer has been taken already; your booking stands (see the confirmation mail)"
                    }
                    OfferStatus::Declined => {
                        "this offer was declined, and its time went to the next patient; you are still on the waitlist"
                    }
                    OfferStatus::Expired | OfferStatus::Offered => {
                        "this offer ran out, and its time went to the next patient; you are still on the waitlist, \
                         and we will write when another time frees up"
                    }
                },
                &[("offer_status", json!(status.as_str()))],
            ),
            ClinicError::Overlap { provider_id } => conflict(
                "the provider already has a slot overlapping this time",
                &[("provider_id", json!(provider_id))],
            ),
            ClinicError::SlotBooked => conflict(
                "this slot is booked; cancel or move its booking first",
                &[("current_status", json!("busy"))],
            ),
            ClinicError::TimeOffHitsBookings { bookings } => {
                let listed: Vec<Value> = bookings
                    .iter()
                    .map(|(reference, start)| {
                        json!({
                            "reference": reference,
                            "start": start.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        })
                    })
                    .collect();
                conflict(
                    "the time off covers visits still booked; move them, or send                      `cancel_bookings: true` to cancel them (each patient is told the reason)",
                    &[("bookings", json!(listed))],
                )
            }
            ClinicError::DuplicateUser => Self::conflict("a user with this email already exists"),
            ClinicError::PatientHasUpcomingVisits(references) => conflict(
                "the patient has visits booked ahead; cancel them (or let them happen) before erasing",
                &[("bookings", json!(references))],
            ),
            ClinicError::Invalid(errors) => errors.into(),
            ClinicError::Database(e) => e.into(),
            ClinicError::Internal(e) => Self::Internal(e),
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(error: diesel::result::Error) -> Self {
        match error {
            diesel::result::Error::NotFound => Self::not_found("resource"),
            e if crate::db::is_unique_violation(&e) => {
                Self::conflict("the request conflicts with the current state; reload and try again")
            }
            e => Self::Internal(anyhow::Error::new(e).context("database query failed")),
        }
    }
}

impl From<crate::auth::password::VerificationFailed> for ApiError {
    fn from(failed: crate::auth::password::VerificationFailed) -> Self {
        use crate::auth::password::VerificationFailed;
        match failed {
            VerificationFailed::Busy => Self::Unavailable(failed.to_string()),
            VerificationFailed::Crashed(_) => Self::Internal(anyhow::Error::new(failed)),
        }
    }
}

impl From<diesel::r2d2::PoolError> for ApiError {
    fn from(error: diesel::r2d2::PoolError) -> Self {
        Self::Unavailable(format!("no database connection: {error}"))
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(error: actix_web::error::BlockingError) -> Self {
        Self::Unavailable(format!("blocking pool: {error}"))
    }
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a BTreeMap<String, String>>,
    #[serde(flatten)]
    extra: BTreeMap<String, Value>,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Validation(_) | Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Status(status) => *status,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            // Internal details go to the log (they never hold patient data: diesel errors name
            // constraints, not values) and not to the client.
            Self::Internal(e) => tracing::error!(error = format!("{e:#}"), "request failed"),
            Self::Unavailable(e) => tracing::warn!(error = %e, "service unavailable"),
            _ => {}
        }
        let (slug, title) = self.kind();
        let extra = match self {
            Self::Conflict { extra, .. } => extra.clone(),
            _ => BTreeMap::new(),
        };
        let problem = Problem {
            kind: format!("https://clinic-booking.dev/problems/{slug}"),
            title,
            status: self.status_code().as_u16(),
            detail: self.detail(),
            errors: match self {
                Self::Validation(errors) => Some(errors),
                _ => None,
            },
            extra,
        };
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        if let Self::Unauthorized(_) = self {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if let Self::Unavailable(_) = self {
            response.insert_header((header::RETRY_AFTER, "1"));
        }
        if let Self::TooManyRequests {
            retry_after_secs, ..
        } = self
        {
            response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
        }
        response.body(serde_json::to_string(&problem).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_password_check_is_a_503_to_retry() {
        let busy = crate::auth::password::VerificationFailed::Busy;
        let response = ApiError::from(busy).error_response();
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers().get("retry-after").unwrap(), "1");
        assert_eq!(
            response.headers().get("content-type").unwrap(),
            PROBLEM_JSON
        );
    }
}
