//! `GET /api/v1/booking-policy`: the booking rules as the clinic set them, so that the booking
//! page, the widget and any other form show them before a patient commits.

use actix_web::{web, HttpResponse};
use serde::Serialize;

use crate::clinic::openings;
use crate::clinic::rules::{self, BookingPolicy};
use crate::domain::ids::VisitTypeId;
use crate::domain::rules::in_words;
use crate::domain::rules::BookingRules;
use crate::error::ApiError;
use crate::state::AppState;

/// The clinic's booking rules.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "min_notice_minutes": 120,
    "horizon_days": 90,
    "cancel_cutoff_hours": 24,
    "max_active_per_email": 3,
    "summary": "Visits can be booked from 2 hours to 90 days ahead, and cancelled or moved online until 24 hours before they start. One email address can hold up to 3 upcoming visits.",
    "text": "If you cannot come, please cancel or move your visit as early as you can, so that another patient can have the time.",
    "clinic_phone": "+1 (602) 555-0134"
}))]
struct BookingPolicyView<'a> {
    /// A visit must start at least this many minutes after it is booked (or moved to).
    #[schema(minimum = 0, maximum = 43200)]
    min_notice_minutes: i64,
    /// A visit may start at most this many days after it is booked.
    #[schema(minimum = 1, maximum = 3650)]
    horizon_days: i64,
    /// Online, a visit can be cancelled or moved until this many hours before it starts.
    #[schema(minimum = 0, maximum = 2160)]
    cancel_cutoff_hours: i64,
    /// How many upcoming booked visits one email address may hold.
    #[schema(minimum = 1, maximum = 1000)]
    max_active_per_email: u32,
    /// The rules above in plain sentences, to show as they are.
    #[schema(max_length = 1000)]
    summary: String,
    /// The clinic's own words on its rules.
    #[schema(max_length = 1000)]
    text: &'a str,
    /// Where patients call when the rules stop them online.
    #[schema(max_length = 64)]
    clinic_phone: &'a str,
}

impl<'a> BookingPolicyView<'a> {
    fn new(policy: &'a BookingPolicy, rules: BookingRules) -> Self {
        let summary = format!(
            "Visits can be booked from {} to {} ahead, and cancelled or moved online until {} \
             before they start. One email address can hold up to {} upcoming visits.",
            in_words(rules.min_notice),
            in_words(rules.horizon),
            in_words(rules.cancel_cutoff),
            rules.max_active_per_email
        );
        Self {
            min_notice_minutes: rules.min_notice.num_minutes(),
            horizon_days: rules.horizon.num_days(),
            cancel_cutoff_hours: rules.cancel_cutoff.num_hours(),
            max_active_per_email: rules.max_active_per_email,
            summary,
            text: &policy.text,
            clinic_phone: &policy.clinic_phone,
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/booking-policy",
    operation_id = "getBookingPolicy",
    summary = "The booking rules",
    description = "The rules every booking follows, however it is made: the minimum notice, the horizon, the cut-off for cancelling or moving a visit online, \
and how many upcoming visits one email address may hold; with the clinic's words on them and its phone. Show them before the patient books: \
a request that breaks one answers 409 naming it in `rule`.",
    tag = "bookings",
    security(()),
    params(PolicyQuery),
    responses(
        (status = 200, description = "The clinic's booking rules", body = BookingPolicyView),
        (status = 400),
        (status = 404, description = "No such visit type"),
    ),
)]
pub(super) async fn show(
    state: web::Data<AppState>,
    query: web::Query<PolicyQuery>,
) -> Result<HttpResponse, ApiError> {
    let visit_type = match query.visit_type_id {
        Some(id) => {
            let id = VisitTypeId::try_from(id).map_err(|_| ApiError::not_found("visit type"))?;
            Some(
                state
                    .with_connection(move |conn| openings::active_visit_type(conn, id))
                    .await?,
            )
        }
        None => None,
    };
    let rules = rules::rules_for(&state.policy, visit_type.as_ref());
    Ok(HttpResponse::Ok().json(BookingPolicyView::new(&state.policy, rules)))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct PolicyQuery {
    /// The rules for this visit type (`GET /api/v1/visit-types`): a type may set its own notice,
    /// horizon or cut-off. Default: the clinic's.
    #[param(minimum = 1, maximum = 2147483647)]
    visit_type_id: Option<i64>,
}
