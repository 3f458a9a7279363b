//! `POST /api/v1/auth/login`: a staff token for an email and password.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::Object;

use super::views::{names_schema, token_schema};
use crate::clinic::accounts::{self, LoginStart};
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "desk@clinic.example", "password": "desk-password-change-me"}))]
pub(super) struct LoginBody {
    #[schema(format = Email, max_length = 320)]
    email: String,
    #[schema(max_length = 256)]
    password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct LoginResponse {
    #[schema(schema_with = access_token_schema)]
    access_token: String,
    #[schema(schema_with = token_type_schema)]
    token_type: &'static str,
    expires_in: i64,
}

/// How the token is sent back: `Authorization: Bearer <access_token>`.
const TOKEN_TYPE: &str = "Bearer";

fn access_token_schema() -> Object {
    token_schema().build()
}

fn token_type_schema() -> Object {
    names_schema([TOKEN_TYPE]).build()
}

/// The one answer for every failed login, so it does not tell unknown addresses from wrong
/// passwords.
fn bad_credentials() -> ApiError {
    ApiError::Unauthorized("the email or password is wrong".into())
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    operation_id = "login",
    summary = "Log in as staff",
    description = "Trades a staff account's email and password for a short-lived staff token. Failed logins per address are throttled (429).",
    tag = "staff",
    security(()),
    request_body = LoginBody,
    responses(
        (status = 200, description = "A staff token", body = LoginResponse),
        (status = 400),
        (status = 401),
        (status = 413),
        (status = 422),
        (status = 429),
        (status = 503),
    ),
)]
pub(super) async fn login(
    state: web::Data<AppState>,
    body: web::Json<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    let LoginBody { email, password } = body.into_inner();
    let key = accounts::throttle_key(&email);
    let lookup_key = key.clone();
    let start = state
        .with_connection(move |conn| accounts::start_login(conn, &lookup_key, db::now()))
        .await?;
    let user = match start {
        LoginStart::Throttled(wait) => {
            let seconds = u64::try_from(wait.num_seconds()).unwrap_or(0).max(1);
            return Err(ApiError::TooManyRequests {
                detail: format!(
                    "too many failed logins for this address; try again in {} minutes",
                    seconds.div_ceil(60)
                ),
                retry_after_secs: seconds,
            });
        }
        LoginStart::Proceed(user) => user,
    };
    // Hashing is slow on purpose: do it on the blocking pool, holding no database connection,
    // and only as many at once as there are cores (503 when a burst cannot get a turn in time).
    // Unknown addresses take the same path, so they are answered the same way.
    let identity = state
        .password_checks
        .run(move || accounts::check_password(user.as_ref(), &password))
        .await?;
    let identity = identity.ok_or_else(bad_credentials)?;
    state
        .with_connection(move |conn| accounts::login_succeeded(conn, &key))
        .await?;
    let issued = state.tokens.issue_staff_token(&identity)?;
    tracing::info!(user_id = identity.user_id.get(), role = %identity.role, "staff login");
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(LoginResponse {
            access_token: issued.token,
            token_type: TOKEN_TYPE,
            expires_in: issued.expires_in,
        }))
}
