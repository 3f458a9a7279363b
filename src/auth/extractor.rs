//! Who a request speaks for, as actix extractors. A handler names what it needs in its
//! signature (`AdminUser`, `FrontDeskUser`, `AnyStaff`, `BookingAccess<…>`) and never checks a
//! role itself: missing or invalid tokens are 401, a valid staff token of another role is 403.

use std::future::{ready, Ready};
use std::marker::PhantomData;

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};

use super::bearer_token;
use super::jwt::StaffIdentity;
use crate::audit::Actor;
use crate::domain::booking::BookingReference;
use crate::domain::staff::Role;
use crate::error::ApiError;
use crate::startup::AppState;

/// The roles an endpoint accepts.
pub trait RoleSet {
    const ROLES: &'static [Role];
}

pub struct AdminOnly;
pub struct DeskRoles;
pub struct AllRoles;

impl RoleSet for AdminOnly {
    const ROLES: &'static [Role] = &[Role::Admin];
}

impl RoleSet for DeskRoles {
    const ROLES: &'static [Role] = &[Role::Admin, Role::FrontDesk];
}

impl RoleSet for AllRoles {
    const ROLES: &'static [Role] = &[Role::Admin, Role::FrontDesk, Role::Provider];
}

/// A staff member whose role is in `R`.
pub struct Staff<R: RoleSet> {
    pub identity: StaffIdentity,
    roles: PhantomData<R>,
}

/// Admins only.
pub type AdminUser = Staff<AdminOnly>;
/// Admins and the front desk.
pub type FrontDeskUser = Staff<DeskRoles>;
/// Any logged-in staff member.
pub type AnyStaff = Staff<AllRoles>;

impl<R: RoleSet> Staff<R> {
    pub fn actor(&self) -> Actor {
        Actor::Staff(self.identity.clone())
    }
}

fn state(req: &HttpRequest) -> Result<&web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("application state missing")))
}

fn missing_token() -> ApiError {
    ApiError::Unauthorized(
        "log in and send the staff token as `Authorization: Bearer <token>`".into(),
    )
}

fn forbidden(roles: &[Role]) -> ApiError {
    let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    ApiError::Forbidden(format!("this needs the role {}", names.join(" or ")))
}

/// 401 for a token that is not a valid staff token, with a hint when it is a manage token.
fn not_staff(state: &AppState, token: &str) -> ApiError {
    if state.tokens.verify_manage_token(token).is_some() {
        ApiError::Unauthorized("a manage token opens its own booking only; log in as staff".into())
    } else {
        ApiError::Unauthorized("the staff token is invalid or expired; log in again".into())
    }
}

fn staff_in<R: RoleSet>(identity: StaffIdentity) -> Result<StaffIdentity, ApiError> {
    if R::ROLES.contains(&identity.role) {
        Ok(identity)
    } else {
        Err(forbidden(R::ROLES))
    }
}

fn staff_from_request<R: RoleSet>(req: &HttpRequest) -> Result<Staff<R>, ApiError> {
    let state = state(req)?;
    let token = bearer_token(req).ok_or_else(missing_token)?;
    let identity = state
        .tokens
        .verify_staff_token(token)
        .ok_or_else(|| not_staff(state, token))?;
    Ok(Staff {
        identity: staff_in::<R>(identity)?,
        roles: PhantomData,
    })
}

impl<R: RoleSet> FromRequest for Staff<R> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(staff_from_request(req))
    }
}

/// A staff member if the request carries a staff token, nobody if it carries no token. A token
/// that is present but invalid is a 401, not a silent downgrade to an anonymous request.
pub struct MaybeStaff(pub Option<StaffIdentity>);

impl FromRequest for MaybeStaff {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(if bearer_token(req).is_none() {
            Ok(Self(None))
        } else {
            staff_from_request::<AllRoles>(req).map(|s| Self(Some(s.identity)))
        })
    }
}

/// Access to one booking: its manage token, or a staff token of a role in `R`.
pub enum BookingAccess<R: RoleSet> {
    Manage(BookingReference),
    Staff(StaffIdentity, PhantomData<R>),
}

impl<R: RoleSet> BookingAccess<R> {
    /// Who is acting on `reference`. A manage token for another booking is a 404: it learns
    /// nothing, not even that the booking exists.
    pub fn actor_for(&self, reference: &BookingReference) -> Result<Actor, ApiError> {
        match self {
            Self::Manage(own) if own == reference => Ok(Actor::ManageToken(own.clone())),
            Self::Manage(_) => Err(ApiError::not_found("booking")),
            Self::Staff(identity, _) => Ok(Actor::Staff(identity.clone())),
        }
    }
}

fn booking_access<R: RoleSet>(req: &HttpRequest) -> Result<BookingAccess<R>, ApiError> {
    let state = state(req)?;
    let token = bearer_token(req).ok_or_else(|| {
        ApiError::Unauthorized(
            "send the booking's manage token or a staff token as `Authorization: Bearer <token>`"
                .into(),
        )
    })?;
    if let Some(identity) = state.tokens.verify_staff_token(token) {
        return Ok(BookingAccess::Staff(staff_in::<R>(identity)?, PhantomData));
    }
    state
        .tokens
        .verify_manage_token(token)
        .map(BookingAccess::Manage)
        .ok_or_else(|| ApiError::Unauthorized("the token is invalid or expired".into()))
}

impl<R: RoleSet> FromRequest for BookingAccess<R> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(booking_access(req))
    }
}
