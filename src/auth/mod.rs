//! Who may touch what: the manage token that opens one booking for the patient who made it,
//! and staff logins with roles (`extractor`, `password`).

pub mod extractor;
pub mod jwt;
pub mod password;

use std::future::{ready, Ready};

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};

use crate::domain::booking::BookingReference;
use crate::error::ApiError;
use crate::state::AppState;

/// The booking a request's `Authorization: Bearer <manage token>` opens. Handlers compare it
/// with the booking they were asked for; a token never opens another booking.
#[derive(Debug, Clone)]
pub struct ManageAccess {
    pub reference: BookingReference,
}

impl ManageAccess {
    /// Fails with 404 unless this token was issued for `reference`: a token for another
    /// booking learns nothing, not even that the booking exists.
    pub fn require(&self, reference: &BookingReference) -> Result<(), ApiError> {
        if &self.reference == reference {
            Ok(())
        } else {
            Err(ApiError::not_found("booking"))
        }
    }
}

/// The bearer token of a request, if it has one.
pub fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl FromRequest for ManageAccess {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(manage_access(req))
    }
}

fn manage_access(req: &HttpRequest) -> Result<ManageAccess, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("application state missing")))?;
    let token = bearer_token(req).ok_or_else(|| {
        ApiError::Unauthorized(
            "send the booking's manage token as `Authorization: Bearer <token>`".into(),
        )
    })?;
    let reference = state
        .tokens
        .verify_manage_token(token)
        .ok_or_else(|| ApiError::Unauthorized("the manage token is invalid or expired".into()))?;
    Ok(ManageAccess { reference })
}
