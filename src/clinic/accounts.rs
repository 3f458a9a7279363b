//! Staff accounts: creating them (the `create-user` command and the tests use the same function)
//! and the steps of a login, so the HTTP handler can hash off the database connection.

use chrono::{Duration, NaiveDateTime};
use serde_json::json;

use super::audit::{self, Entity};
use super::ClinicError;
use crate::auth::password;
use crate::db::audit::AuditAction;
use crate::db::users::{self, NewUser, User};
use crate::db::{self, is_unique_violation, login_throttle, DbConnection};
use crate::domain::actor::Actor;
use crate::domain::staff::StaffIdentity;
use crate::domain::staff::{NewPassword, Role, StaffEmail, PASSWORD_MAX_CHARS};

/// Failed logins allowed per address within `LOGIN_WINDOW_MINUTES` before answering 429.
pub(crate) const MAX_LOGIN_FAILURES: i32 = 5;
pub(crate) const LOGIN_WINDOW_MINUTES: i64 = 15;

fn login_window() -> Duration {
    Duration::minutes(LOGIN_WINDOW_MINUTES)
}

/// Creates a staff account; 409 if the address already has one. The hash is computed before the
/// transaction so the write lock is held only for the insert.
pub fn create_user(
    conn: &mut DbConnection,
    email: &StaffEmail,
    role: Role,
    password: &NewPassword,
    actor: &Actor,
) -> Result<User, ClinicError> {
    let hash = password::hash(password)?;
    db::write_transaction(conn, |conn| {
        if users::find_by_email(conn, email.as_str())?.is_some() {
            return Err(ClinicError::DuplicateUser);
        }
        let now = db::now();
        let user = NewUser {
            email: email.as_str(),
            password_hash: &hash,
            role,
            active: true,
            created_at: now,
        }
        .insert(conn)
        .map_err(|e| {
            if is_unique_violation(&e) {
                ClinicError::DuplicateUser
            } else {
                e.into()
            }
        })?;
        audit::record(
            conn,
            actor,
            AuditAction::UserCreate,
            Entity::User(user.id),
            None,
            Some(json!({"email": user.email, "role": user.role.as_str(), "active": true})),
            now,
        )?;
        Ok(user)
    })
}

/// The key failures are counted under: the address as typed, trimmed and lowercased (bounded,
/// since it is stored even when it names no account).
pub(crate) fn throttle_key(typed_email: &str) -> String {
    // Control characters (a NUL above all, which PostgreSQL refuses in text) never belong in
    // an address; dropping them keeps every typed string a valid key.
    typed_email
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_control())
        .take(320)
        .collect()
}

/// The first step of a login.
pub enum LoginStart {
    /// Too many recent failures: try again after this long.
    Throttled(Duration),
    /// The active account with this address, if any.
    Proceed(Option<User>),
}

/// Counts the attempt against the address's limit and, if still under it, finds the account.
pub(crate) fn start_login(
    conn: &mut DbConnection,
    key: &str,
    now: NaiveDateTime,
) -> Result<LoginStart, ClinicError> {
    db::write_transaction(conn, |conn| {
        let (attempts, window_started) =
            login_throttle::count_attempt(conn, key, login_window(), now)?;
        if attempts > MAX_LOGIN_FAILURES {
            let wait = (window_started + login_window()) - now;
            return Ok(LoginStart::Throttled(wait));
        }
        let user = users::find_by_email(conn, key)?.filter(|u| u.active);
        Ok(LoginStart::Proceed(user))
    })
}

/// Checks the password (CPU-bound: run it on the blocking pool without a connection). Without
/// an account it verifies against a dummy hash, so both failures take the same time.
pub(crate) fn check_password(user: Option<&User>, typed_password: &str) -> Option<StaffIdentity> {
    if typed_password.chars().count() > PASSWORD_MAX_CHARS {
        return None;
    }
    match user {
        Some(user) if password::verify(typed_password, &user.password_hash) => {
            Some(StaffIdentity {
                user_id: user.id,
                email: user.email.clone(),
                role: user.role,
            })
        }
        Some(_) => None,
        None => {
            password::verify_against_dummy(typed_password);
            None
        }
    }
}

/// After a successful login: forget the address's failed attempts. (A failure needs nothing
/// more: `start_login` counted it before the password was checked.)
pub(crate) fn login_succeeded(conn: &mut DbConnection, key: &str) -> Result<(), ClinicError> {
    db::write_transaction(conn, |conn| login_throttle::clear(conn, key))?;
    Ok(())
}

/// Makes a `provider` account the provider's own (it then manages that provider's calendar
/// feed). Refused for other roles and unknown providers.
pub fn link_provider(
    conn: &mut DbConnection,
    user: &User,
    provider: crate::domain::ids::ProviderId,
) -> Result<(), ClinicError> {
    if user.role != Role::Provider {
        return Err(ClinicError::invalid(
            "provider",
            "only an account of the provider role belongs to a provider",
        ));
    }
    crate::db::providers::find(conn, provider)?.ok_or(ClinicError::NotFound("provider"))?;
    users::link_provider(conn, user.id, provider)?;
    Ok(())
}
