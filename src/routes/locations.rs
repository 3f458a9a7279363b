//! Locations: the list patients choose from (public) and their upkeep (admin).

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::clinic::locations;
use crate::db::locations::{self as stored, Location};
use crate::domain::ids::LocationId;
use crate::domain::location::{LocationFields, LocationInput};
use crate::domain::FieldErrors;
use crate::error::ApiError;
use crate::routes::access::AdminUser;
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "id": 2, "name": "Desert Spine & Pain — Window Rock", "address": "8 Route 264, Window Rock, AZ 86515",
    "phone": "+1 (928) 555-0172", "timezone": "America/Denver", "active": true
}))]
pub(super) struct LocationView {
    #[schema(value_type = i64, minimum = 1, maximum = 2147483647)]
    id: i32,
    #[schema(max_length = 100)]
    name: String,
    #[schema(max_length = 200)]
    address: String,
    #[schema(max_length = 40)]
    phone: String,
    /// The IANA time zone its schedules and local times are in.
    #[schema(max_length = 40, pattern = "^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$")]
    timezone: String,
    active: bool,
}

impl From<Location> for LocationView {
    fn from(l: Location) -> Self {
        Self {
            id: l.id.get(),
            name: l.name,
            address: l.address,
            phone: l.phone,
            timezone: l.timezone.as_str().to_owned(),
            active: l.active,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct LocationList {
    #[schema(max_items = 1000)]
    items: Vec<LocationView>,
}

#[utoipa::path(
    get,
    path = "/api/v1/locations",
    operation_id = "listLocations",
    summary = "List locations",
    description = "The clinic's active locations, main location first, each with its address, \
phone and time zone. Pass an `id` as `location_id` to `GET /api/v1/slots` for the free times there.",
    tag = "providers",
    security(()),
    responses((status = 200, description = "Active locations", body = LocationList)),
)]
pub(super) async fn list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let items = state
        .with_connection(|conn| stored::list(conn, true))
        .await?;
    let items = items.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(LocationList { items }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "Desert Spine & Pain — Window Rock", "address": "8 Route 264, Window Rock, AZ 86515",
    "phone": "+1 (928) 555-0172", "timezone": "America/Denver"
}))]
pub(super) struct LocationBody {
    /// Required when creating; unique.
    #[schema(min_length = 1, max_length = 100)]
    name: Option<String>,
    #[schema(max_length = 200)]
    address: Option<String>,
    #[schema(max_length = 40)]
    phone: Option<String>,
    /// Required when creating: an IANA time zone name. A change applies to schedules built
    /// afterwards; slots already made keep their instants.
    #[schema(
        min_length = 1,
        max_length = 40,
        example = "America/Phoenix",
        pattern = "^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$"
    )]
    timezone: Option<String>,
    /// Default true; false hides it from the public list and takes no new slots (slots made
    /// there stay until staff block them).
    active: Option<bool>,
}

impl LocationBody {
    fn parse(&self, creating: bool) -> Result<LocationFields, ApiError> {
        let mut errors = FieldErrors::default();
        let fields = LocationFields::parse(
            LocationInput {
                name: self.name.as_deref(),
                address: self.address.as_deref(),
                phone: self.phone.as_deref(),
                timezone: self.timezone.as_deref(),
                active: self.active,
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

/// `POST /api/v1/locations` (admin).
#[utoipa::path(
    post,
    path = "/api/v1/locations",
    operation_id = "createLocation",
    summary = "Add a location",
    description = "A new place the clinic sees patients, with its time zone. Admins only.",
    tag = "staff",
    security(("staff_jwt" = [])),
    request_body = LocationBody,
    responses(
        (status = 201, description = "Created", body = LocationView),
        (status = 400),
        (status = 401),
        (status = 403),
        (status = 413),
        (status = 422, description = "Invalid fields, a name in use or an unknown time zone"),
    ),
)]
pub(super) async fn create(
    state: web::Data<AppState>,
    admin: AdminUser,
    body: web::Json<LocationBody>,
) -> Result<HttpResponse, ApiError> {
    let fields = body.parse(true)?;
    let actor = admin.actor();
    let created = state
        .with_connection(move |conn| locations::create(conn, &fields, &actor))
        .await?;
    Ok(HttpResponse::Created().json(LocationView::from(created)))
}

/// `PATCH /api/v1/locations/{id}` (admin).
#[utoipa::path(
    patch,
    path = "/api/v1/locations/{id}",
    operation_id = "updateLocation",
    summary = "Edit a location",
    description = "Changes the fields sent; `{\"active\": false}` withdraws it from the list and \
from new schedules. Admins only.",
    tag = "staff",
    security(("staff_jwt" = [])),
    params(("id" = i64, Path, description = "The location id", minimum = 1, maximum = 2147483647)),
    request_body = LocationBody,
    responses(
        (status = 200, description = "Updated", body = LocationView),
        (status = 400),
        (status = 401),
        (status = 403),
        (status = 404, description = "No such location"),
        (status = 413),
        (status = 422, description = "Invalid fields, a name in use or an unknown time zone"),
    ),
)]
pub(super) async fn update(
    state: web::Data<AppState>,
    admin: AdminUser,
    path: web::Path<i64>,
    body: web::Json<LocationBody>,
) -> Result<HttpResponse, ApiError> {
    let id =
        LocationId::try_from(path.into_inner()).map_err(|_| ApiError::not_found("location"))?;
    let fields = body.parse(false)?;
    if fields.is_empty() {
        return Err(ApiError::BadRequest(
            "send at least one of name, address, phone, timezone, active".into(),
        ));
    }
    let actor = admin.actor();
    let updated = state
        .with_connection(move |conn| locations::update(conn, id, &fields, &actor))
        .await?;
    Ok(HttpResponse::Ok().json(LocationView::from(updated)))
}
