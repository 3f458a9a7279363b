//! Who a request speaks for, as actix extractors. A handler names what it needs in its
//! signature (`AdminUser`, `FrontDeskUser`, `AnyStaff`, `BookingAccess<…>`) and never checks a
//! role itself: missing or invalid tokens are 401, and so is the token of an account that has
//! been deactivated (or deleted) since it was issued; a valid staff token of another role is 403.

use std::marker::PhantomData;

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};
use futures::future::LocalBoxFuture;

use crate::db::users;
use crate::domain::actor::Actor;
use crate::domain::booking::BookingReference;
use crate::domain::staff::Role;
use crate::domain::staff::StaffIdentity;
use crate::error::ApiError;
use crate::state::AppState;

/// The roles an endpoint accepts.
pub(crate) trait RoleSet {
    const ROLES: &'static [Role];
}

pub(crate) struct AdminOnly;
pub(crate) struct DeskRoles;
pub(crate) struct AllRoles;

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
pub(crate) struct Staff<R: RoleSet> {
    pub identity: StaffIdentity,
    roles: PhantomData<R>,
}

/// Admins only.
pub(crate) type AdminUser = Staff<AdminOnly>;
/// Admins and the front desk.
pub(crate) type FrontDeskUser = Staff<DeskRoles>;
/// Any logged-in staff member.
pub(crate) type AnyStaff = Staff<AllRoles>;

impl<R: RoleSet> Staff<R> {
    pub(crate) fn actor(&self) -> Actor {
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

/// The staff member a token names, if the account is still active: a token outlives the
/// deactivation of its account by up to its lifetime otherwise. Checked before the role, so a
/// deactivated account's token is a 401 whatever it asks for.
async fn still_active(
    state: web::Data<AppState>,
    identity: StaffIdentity,
) -> Result<StaffIdentity, ApiError> {
    let user_id = identity.user_id;
    let active = state
        .with_connection(move |conn| users::is_active(conn, user_id))
        .await?;
    if active {
        Ok(identity)
    } else {
        Err(ApiError::Unauthorized(
            "this staff account is no longer active".into(),
        ))
    }
}

/// The staff token of a request, verified (signature, expiry, audience), with the state to look
/// the account up in.
fn verified_staff(req: &HttpRequest) -> Result<(web::Data<AppState>, StaffIdentity), ApiError> {
    let state = state(req)?;
    let token = bearer_token(req).ok_or_else(missing_token)?;
    let identity = state
        .tokens
        .verify_staff_token(token)
        .ok_or_else(|| not_staff(state, token))?;
    Ok((state.clone(), identity))
}

fn staff_from_request<R: RoleSet + 'static>(
    req: &HttpRequest,
) -> LocalBoxFuture<'static, Result<Staff<R>, ApiError>> {
    let verified = verified_staff(req);
    Box::pin(async move {
        let (state, identity) = verified?;
        let identity = still_active(state, identity).await?;
        Ok(Staff {
            identity: staff_in::<R>(identity)?,
            roles: PhantomData,
        })
    })
}

impl<R: RoleSet + 'static> FromRequest for Staff<R> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        staff_from_request(req)
    }
}

/// A staff member if the request carries a staff token, nobody if it carries no token. A token
/// that is present but invalid is a 401, not a silent downgrade to an anonymous request.
pub(crate) struct MaybeStaff(pub Option<StaffIdentity>);

impl FromRequest for MaybeStaff {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        if bearer_token(req).is_none() {
            return Box::pin(async { Ok(Self(None)) });
        }
        let staff = staff_from_request::<AllRoles>(req);
        Box::pin(async move { Ok(Self(Some(staff.await?.identity))) })
    }
}

/// Access to one booking: its manage token, or a staff token of a role in `R`.
pub(crate) enum BookingAccess<R: RoleSet> {
    Manage(BookingReference),
    Staff(StaffIdentity, PhantomData<R>),
}

impl<R: RoleSet> BookingAccess<R> {
    /// Who is acting on `reference`. A manage token for another booking is a 404: it learns
    /// nothing, not even that the booking exists.
    pub(crate) fn actor_for(&self, reference: &BookingReference) -> Result<Actor, ApiError> {
        match self {
            Self::Manage(own) if own == reference => Ok(Actor::ManageToken(own.clone())),
            Self::Manage(_) => Err(ApiError::not_found("booking")),
            Self::Staff(identity, _) => Ok(Actor::Staff(identity.clone())),
        }
    }
}

/// What a booking route's token is: a staff member still to be checked against the accounts,
/// or a manage token (which needs no lookup).
enum BookingToken {
    Staff(web::Data<AppState>, StaffIdentity),
    Manage(BookingReference),
}

fn booking_token(req: &HttpRequest) -> Result<BookingToken, ApiError> {
    let state = state(req)?;
    let token = bearer_token(req).ok_or_else(|| {
        ApiError::Unauthorized(
            "send the booking's manage token or a staff token as `Authorization: Bearer <token>`"
                .into(),
        )
    })?;
    if let Some(identity) = state.tokens.verify_staff_token(token) {
        return Ok(BookingToken::Staff(state.clone(), identity));
    }
    state
        .tokens
        .verify_manage_token(token)
        .map(BookingToken::Manage)
        .ok_or_else(|| ApiError::Unauthorized("the token is invalid or expired".into()))
}

impl<R: RoleSet + 'static> FromRequest for BookingAccess<R> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = booking_token(req);
        Box::pin(async move {
            match token? {
                BookingToken::Manage(reference) => Ok(BookingAccess::Manage(reference)),
                BookingToken::Staff(state, identity) => {
                    let identity = still_active(state, identity).await?;
                    Ok(BookingAccess::Staff(staff_in::<R>(identity)?, PhantomData))
                }
            }
        })
    }
}

/// The bearer token of a request, if it has one.
pub(crate) fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}
