//! Staff passwords: argon2id hashes in the PHC string format, and a verification that takes as
//! long for an unknown account as for a wrong password.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::domain::staff::NewPassword;

/// The argon2id hash of a new password, with a fresh random salt. `Argon2::default()` is
/// argon2id v1.3 with the parameters OWASP recommends (19 MiB, 2 passes, 1 lane).
pub fn hash(password: &NewPassword) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let hash = Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))?;
    Ok(hash.to_string())
}

/// Whether `password` matches the stored hash (parameters are read from the hash itself).
pub fn verify(password: &str, stored_hash: &str) -> bool {
    PasswordHash::new(stored_hash)
        .and_then(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed))
        .is_ok()
}

/// A hash with today's parameters that no password of anyone's opens, made once per process.
fn dummy_hash() -> Option<&'static str> {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    DUMMY
        .get_or_init(|| {
            NewPassword::parse("dummy-password-nobody-has")
                .ok()
                .and_then(|p| hash(&p).ok())
        })
        .as_deref()
}

/// Makes the dummy hash ahead of the first login (startup calls it), so even the first login
/// for an unknown address costs one verification, not a hash plus a verification.
pub fn prepare_dummy_hash() {
    let _ = dummy_hash();
}

/// Does the work of a verification for an account that does not exist, so "no such user" and
/// "wrong password" take the same time.
pub fn verify_against_dummy(password: &str) {
    if let Some(dummy) = dummy_hash() {
        let _ = verify(password, dummy);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_are_salted() {
        let password = NewPassword::parse("correct horse battery").unwrap();
        let a = hash(&password).unwrap();
        let b = hash(&password).unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify("correct horse battery", &a));
        assert!(!verify("correct horse batterY", &a));
        assert!(!verify("correct horse battery", "not a hash"));
    }
}
