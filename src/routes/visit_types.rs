//! Visit types: the list patients choose from (public) and their upkeep (admin).

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::clinic::visit_types::{self, OfferedVisitType};
use crate::domain::ids::VisitTypeId;
use crate::domain::visit_type::{VisitTypeFields, VisitTypeInput, MAX_PROVIDERS};
use crate::domain::FieldErrors;
use crate::error::ApiError;
use crate::routes::access::AdminUser;
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "id": 1, "name": "New-patient evaluation", "description": "A first visit: history, examination and a plan.",
    "duration_minutes": 60, "buffer_minutes": 15, "new_patients_online": true,
    "series_online": false, "active": true,
    "provider_ids": [1, 2]
}))]
pub(super) struct VisitTypeView {
    #[schema(value_type = i64, minimum = 1, maximum = 2147483647)]
    id: i32,
    #[schema(max_length = 80)]
    name: String,
    #[schema(max_length = 500)]
    description: String,
    /// How long the visit takes.
    #[schema(minimum = 5, maximum = 480)]
    duration_minutes: i32,
    /// The provider's time held after the visit (notes, room turnover); never offered to others.
    #[schema(minimum = 0, maximum = 120)]
    buffer_minutes: i32,
    /// Whether anyone may book it online; if not, online booking needs an earlier visit by the
    /// same email address (staff book it for anyone).
    new_patients_online: bool,
    /// Whether patients may book a course of it online (`POST /api/v1/series`); staff always may.
    series_online: bool,
    active: bool,
    /// Booking rules of its own (`null`: the clinic's, `GET /api/v1/booking-policy`).
    #[schema(minimum = 0, maximum = 43200)]
    min_notice_minutes: Option<i32>,
    #[schema(minimum = 1, maximum = 3650)]
    horizon_days: Option<i32>,
    #[schema(minimum = 0, maximum = 2160)]
    cancel_cutoff_hours: Option<i32>,
    /// The providers who offer it.
    #[schema(schema_with = provider_ids_schema)]
    provider_ids: Vec<i32>,
}

impl From<OfferedVisitType> for VisitTypeView {
    fn from(v: OfferedVisitType) -> Self {
        let t = v.visit_type;
        Self {
            id: t.id.get(),
            name: t.name,
            description: t.description,
            duration_minutes: t.duration_minutes,
            buffer_minutes: t.buffer_minutes,
            new_patients_online: t.new_patients_online,
            series_online: t.series_online,
            active: t.active,
            min_notice_minutes: t.min_notice_minutes,
            horizon_days: t.horizon_days,
            cancel_cutoff_hours: t.cancel_cutoff_hours,
            provider_ids: v.provider_ids.iter().map(|p| p.get()).collect(),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct VisitTypeList {
    #[schema(max_items = 1000)]
    items: Vec<VisitTypeView>,
}

#[utoipa::path(
    get,
    path = "/api/v1/visit-types",
    operation_id = "listVisitTypes",
    summary = "List visit types",
    description = "The active visit types, by name, with how long each takes and who offers it. \
Pass a type's `id` as `visit_type_id` to `GET /api/v1/slots` for the times where it fits, and to \
`POST /api/v1/bookings` to book it.",
    tag = "providers",
    security(()),
    responses((status = 200, description = "Active visit types", body = VisitTypeList)),
)]
pub(super) async fn list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let items = state
        .with_connection(|conn| visit_types::list(conn, true))
        .await?;
    let items = items.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(VisitTypeList { items }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "Physical-therapy session", "duration_minutes": 45, "buffer_minutes": 0,
    "new_patients_online": false, "provider_ids": [2]
}))]
pub(super) struct VisitTypeBody {
    /// Required when creating; unique.
    #[schema(min_length = 1, max_length = 80)]
    name: Option<String>,
    #[schema(max_length = 500)]
    description: Option<String>,
    /// Required when creating: a multiple of 5.
    #[schema(minimum = 5, maximum = 480, multiple_of = 5)]
    duration_minutes: Option<i64>,
    /// A multiple of 5 (default 0).
    #[schema(minimum = 0, maximum = 120, multiple_of = 5)]
    buffer_minutes: Option<i64>,
    /// Default true.
    new_patients_online: Option<bool>,
    /// Default false: courses of it are booked by staff only.
    series_online: Option<bool>,
    /// Default true; false withdraws it from booking (visits booked stay).
    active: Option<bool>,
    /// How long before a visit of this type it must be booked, if not the clinic's notice;
    /// `null` goes back to the clinic's.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 43200)]
    min_notice_minutes: Option<Option<i64>>,
    /// How far ahead it may be booked, if not the clinic's horizon; `null`: the clinic's.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 3650)]
    horizon_days: Option<Option<i64>>,
    /// Until when before the visit patients may cancel or move it online, if not the clinic's
    /// cut-off; `null`: the clinic's.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 2160)]
    cancel_cutoff_hours: Option<Option<i64>>,
    /// Who offers it: provider ids, replacing the whole list.
    #[schema(schema_with = provider_ids_schema)]
    provider_ids: Option<Vec<i64>>,
}

/// An array of at most `MAX_PROVIDERS` provider ids.
fn provider_ids_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
    let id = ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(1))
        .maximum(Some(i32::MAX));
    ArrayBuilder::new()
        .items(id)
        .max_items(Some(MAX_PROVIDERS))
        .build()
}

/// A field that may be sent as `null` to clear it: present (`Some`, holding the value or
/// `None` for `null`) or left out (`None`, through `#[serde(default)]`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(d).map(Some)
}

impl VisitTypeBody {
    fn parse(&self, creating: bool) -> Result<VisitTypeFields, ApiError> {
        let mut errors = FieldErrors::default();
        let fields = VisitTypeFields::parse(
            VisitTypeInput {
                name: self.name.as_deref(),
                description: self.description.as_deref(),
                duration_minutes: self.duration_minutes,
                buffer_minutes: self.buffer_minutes,
                new_patients_online: self.new_patients_online,
                series_online: self.series_online,
                active: self.active,
                min_notice_minutes: self.min_notice_minutes,
                horizon_days: self.horizon_days,
                cancel_cutoff_hours: self.cancel_cutoff_hours,
                provider_ids: self.provider_ids.as_deref(),
            },
            creating,
            &mut errors,
        );
        if !errors.is_empty() {
            return Err(errors.into());
        }
        Ok(fields)
    }
}

/// `POST /api/v1/visit-types` (admin).
#[utoipa::path(
    post,
    path = "/api/v1/visit-types",
    operation_id = "createVisitType",
    summary = "Add a visit type",
    description = "A new kind of visit with its duration, buffer and providers. Admins only.",
    tag = "staff",
    security(("staff_jwt" = [])),
    request_body = VisitTypeBody,
    responses(
        (status = 201, description = "Created", body = VisitTypeView),
        (status = 400),
        (status = 401),
        (status = 403),
        (status = 413),
        (status = 422, description = "Invalid fields, a name in use or an unknown provider"),
    ),
)]
pub(super) async fn create(
    state: web::Data<AppState>,
    admin: AdminUser,
    body: web::Json<VisitTypeBody>,
) -> Result<HttpResponse, ApiError> {
    let fields = body.parse(true)?;
    let actor = admin.actor();
    let created = state
        .with_connection(move |conn| visit_types::create(conn, &fields, &actor))
        .await?;
    Ok(HttpResponse::Created().json(VisitTypeView::from(created)))
}

/// `PATCH /api/v1/visit-types/{id}` (admin).
#[utoipa::path(
    patch,
    path = "/api/v1/visit-types/{id}",
    operation_id = "updateVisitType",
    summary = "Edit a visit type",
    description = "Changes the fields sent; `{\"active\": false}` withdraws it. Visits already \
booked keep the length they were booked with. Admins only.",
    tag = "staff",
    security(("staff_jwt" = [])),
    params(("id" = i64, Path, description = "The visit type id", minimum = 1, maximum = 2147483647)),
    request_body = VisitTypeBody,
    responses(
        (status = 200, description = "Updated", body = VisitTypeView),
        (status = 400),
        (status = 401),
        (status = 403),
        (status = 404, description = "No such visit type"),
        (status = 413),
        (status = 422, description = "Invalid fields, a name in use or an unknown provider"),
    ),
)]
pub(super) async fn update(
    state: web::Data<AppState>,
    admin: AdminUser,
    path: web::Path<i64>,
    body: web::Json<VisitTypeBody>,
) -> Result<HttpResponse, ApiError> {
    let id =
        VisitTypeId::try_from(path.into_inner()).map_err(|_| ApiError::not_found("visit type"))?;
    let fields = body.parse(false)?;
    if fields.is_empty() {
        return Err(ApiError::BadRequest(
            "send at least one of the visit type's fields".into(),
        ));
    }
    let actor = admin.actor();
    let updated = state
        .with_connection(move |conn| visit_types::update(conn, id, &fields, &actor))
        .await?;
    Ok(HttpResponse::Ok().json(VisitTypeView::from(updated)))
}
