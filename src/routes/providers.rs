//! Provider listings (public) and their upkeep (admin).

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::clinic::front_desk;
use crate::db::providers::{self, Provider};
use crate::domain::ids::ProviderId;
use crate::domain::provider::{ProviderFields, ProviderInput};
use crate::domain::FieldErrors;
use crate::error::ApiError;
use crate::routes::access::AdminUser;
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct ProviderView {
    #[schema(value_type = i64)]
    id: i32,
    name: String,
    title: String,
    specialty: String,
    bio: String,
    active: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct ProviderList {
    items: Vec<ProviderView>,
}

impl From<Provider> for ProviderView {
    fn from(p: Provider) -> Self {
        Self {
            id: p.id.get(),
            name: p.name,
            title: p.title,
            specialty: p.specialty,
            bio: p.bio,
            active: p.active,
        }
    }
}

/// The document's example: the demo clinic's first provider.
fn provider_list_example() -> serde_json::Value {
    serde_json::json!({
        "items": [{
            "id": 1,
            "name": "Dr. Maya Chen",
            "title": "MD, Pain Medicine",
            "specialty": "pain_medicine",
            "bio": "Board-certified in pain medicine; treats chronic back and neck pain, including pain made worse by stress.",
            "active": true
        }]
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/providers",
    operation_id = "listProviders",
    summary = "List providers",
    description = "The clinic's active providers.",
    tag = "providers",
    security(()),
    responses((status = 200, description = "Active providers", body = ProviderList, example = provider_list_example)),
)]
pub(super) async fn list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let items = state.with_connection(providers::list_active).await?;
    let items: Vec<ProviderView> = items.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(ProviderList { items }))
}

#[utoipa::path(
    get,
    path = "/api/v1/providers/{id}",
    operation_id = "getProvider",
    summary = "Read a provider",
    description = "Read a provider",
    tag = "providers",
    security(()),
    params(("id" = i64, Path, description = "The provider id", minimum = 1, maximum = 2147483647)),
    responses(
        (status = 200, description = "The provider", body = ProviderView),
        (status = 404, description = "No such provider"),
    ),
)]
pub(super) async fn show(
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id =
        ProviderId::try_from(path.into_inner()).map_err(|_| ApiError::not_found("provider"))?;
    let provider = state
        .with_connection(move |conn| providers::find(conn, id))
        .await?
        .filter(|p| p.active)
        .ok_or_else(|| ApiError::not_found("provider"))?;
    Ok(HttpResponse::Ok().json(ProviderView::from(provider)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Dr. Maya Rivera", "title": "MD, Pain Medicine", "specialty": "Interventional pain management"}))]
pub(super) struct ProviderBody {
    #[schema(max_length = 100)]
    name: Option<String>,
    #[schema(max_length = 100)]
    title: Option<String>,
    #[schema(max_length = 64)]
    specialty: Option<String>,
    #[schema(max_length = 2000)]
    bio: Option<String>,
    active: Option<bool>,
}

impl ProviderBody {
    fn parse(&self, creating: bool) -> Result<ProviderFields, ApiError> {
        let mut errors = FieldErrors::default();
        let fields = ProviderFields::parse(
            ProviderInput {
                name: self.name.as_deref(),
                title: self.title.as_deref(),
                specialty: self.specialty.as_deref(),
                bio: self.bio.as_deref(),
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

/// `POST /api/v1/providers` (admin).
#[utoipa::path(
    post,
    path = "/api/v1/providers",
    operation_id = "createProvider",
    summary = "Add a provider",
    description = "Admins only.",
    tag = "staff",
    security(("staff_jwt" = [])),
    request_body = ProviderBody,
    responses(
        (status = 201, description = "Created", body = ProviderView),
        (status = 400),
        (status = 401),
        (status = 403),
        (status = 413),
        (status = 422),
    ),
)]
pub(super) async fn create(
    state: web::Data<AppState>,
    admin: AdminUser,
    body: web::Json<ProviderBody>,
) -> Result<HttpResponse, ApiError> {
    let fields = body.parse(true)?;
    let actor = admin.actor();
    let provider = state
        .with_connection(move |conn| front_desk::create_provider(conn, &fields, &actor))
        .await?;
    Ok(HttpResponse::Created().json(ProviderView::from(provider)))
}

/// `PATCH /api/v1/providers/{id}` (admin): edit, or deactivate with `{"active": false}`.
#[utoipa::path(
    patch,
    path = "/api/v1/providers/{id}",
    operation_id = "updateProvider",
    summary = "Edit a provider",
    description = "Changes the fields sent; `{\"active\": false}` deactivates. Admins only.",
    tag = "staff",
    security(("staff_jwt" = [])),
    params(("id" = i64, Path, description = "The provider id", minimum = 1, maximum = 2147483647)),
    request_body = ProviderBody,
    responses(
        (status = 200, description = "Updated", body = ProviderView),
        (status = 400),
        (status = 401),
        (status = 403),
        (status = 404, description = "No such provider"),
        (status = 413),
        (status = 422),
    ),
)]
pub(super) async fn update(
    state: web::Data<AppState>,
    admin: AdminUser,
    path: web::Path<i64>,
    body: web::Json<ProviderBody>,
) -> Result<HttpResponse, ApiError> {
    let id =
        ProviderId::try_from(path.into_inner()).map_err(|_| ApiError::not_found("provider"))?;
    let fields = body.parse(false)?;
    if fields.is_empty() {
        return Err(ApiError::BadRequest(
            "send at least one of name, title, specialty, bio, active".into(),
        ));
    }
    let actor = admin.actor();
    let provider = state
        .with_connection(move |conn| front_desk::update_provider(conn, id, &fields, &actor))
        .await?;
    Ok(HttpResponse::Ok().json(ProviderView::from(provider)))
}
