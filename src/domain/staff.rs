//! Staff accounts: their roles, their login address and the passwords they may choose.

use std::fmt;

use super::ids::UserId;
use super::patient::EmailAddress;

/// A staff member as a valid staff token names them: who, and in which role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffIdentity {
    pub user_id: UserId,
    pub email: String,
    pub role: Role,
}

/// What a staff member may do. Routes name the roles they accept (see `routes::access`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum Role {
    Admin,
    FrontDesk,
    Provider,
}

impl Role {
    pub const ALL: [Role; 3] = [Self::Admin, Self::FrontDesk, Self::Provider];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::FrontDesk => "front_desk",
            Self::Provider => "provider",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == value.trim())
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A staff login address: a valid email, lowercased so `Ana@Clinic.org` and `ana@clinic.org`
/// are one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffEmail(String);

impl StaffEmail {
    pub fn parse(value: &str) -> Result<Self, String> {
        let email = EmailAddress::parse(value)?;
        Ok(Self(email.as_str().to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub(crate) const PASSWORD_MIN_CHARS: usize = 12;
/// argon2 accepts any length; the bound keeps one login from costing unbounded hashing input.
pub(crate) const PASSWORD_MAX_CHARS: usize = 256;

/// A password a new account may have: 12 to 256 characters. Never logged: `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl NewPassword {
    pub fn parse(value: &str) -> Result<Self, String> {
        let chars = value.chars().count();
        if chars < PASSWORD_MIN_CHARS {
            return Err(format!(
                "the password must be at least {PASSWORD_MIN_CHARS} characters"
            ));
        }
        if chars > PASSWORD_MAX_CHARS {
            return Err(format!(
                "the password must be at most {PASSWORD_MAX_CHARS} characters"
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
        assert_eq!(Role::parse("Admin"), None);
    }

    #[test]
    fn staff_emails_are_lowercased() {
        assert_eq!(
            StaffEmail::parse(" Desk@Clinic.Example ").unwrap().as_str(),
            "desk@clinic.example"
        );
        assert!(StaffEmail::parse("desk").is_err());
    }

    #[test]
    fn passwords_are_long_enough_and_hidden() {
        assert!(NewPassword::parse("short-pass1").is_err());
        let p = NewPassword::parse("twelve-chars").unwrap();
        assert_eq!(p.expose(), "twelve-chars");
        assert!(!format!("{p:?}").contains("twelve"));
        assert!(NewPassword::parse(&"x".repeat(257)).is_err());
    }
}
