//! Staff passwords: argon2id hashes in the PHC string format, and a verification that takes as
//! long for an unknown account as for a wrong password.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use tokio::sync::Semaphore;

use crate::domain::staff::NewPassword;

/// Memory (KiB), passes and lanes of new hashes: argon2id with 7 MiB and 5 passes, one of the
/// five settings OWASP's Password Storage Cheat Sheet lists as equally strong (its first is 19
/// MiB and 2 passes, the argon2 crate's default, which earlier hashes carry). A verification
/// holds its memory at once, and that was the server's peak: a login took the process from 53
/// to 67 MiB (issue 20's ≤ 64 MiB); 7 MiB costs the same time in passes over memory.
const MEMORY_KIB: u32 = 7 * 1024;
const PASSES: u32 = 5;
const LANES: u32 = 1;

/// The hasher of new passwords (verification reads the parameters from the stored hash, so
/// hashes made with other parameters still verify, at their own cost).
fn hasher() -> anyhow::Result<Argon2<'static>> {
    let params = argon2::Params::new(MEMORY_KIB, PASSES, LANES, None)
        .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
    Ok(Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        params,
    ))
}

/// The argon2id hash of a new password, with a fresh random salt (`hasher`).
pub(crate) fn hash(password: &NewPassword) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let hash = hasher()?
        .hash_password(password.expose().as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))?;
    Ok(hash.to_string())
}

/// Whether `password` matches the stored hash (parameters are read from the hash itself).
pub(crate) fn verify(password: &str, stored_hash: &str) -> bool {
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
pub(crate) fn prepare_dummy_hash() {
    let _ = dummy_hash();
}

/// Does the work of a verification for an account that does not exist, so "no such user" and
/// "wrong password" take the same time.
pub(crate) fn verify_against_dummy(password: &str) {
    if let Some(dummy) = dummy_hash() {
        let _ = verify(password, dummy);
    }
}

/// Bounds how many password verifications run at once. Each argon2 verification holds its
/// memory (7 MiB, or 19 for hashes made before) and a core for its duration; without a bound, a
/// burst of logins (random addresses each get their full share of attempts) would queue
/// unbounded memory and CPU on the blocking pool. A login waits at most `max_wait` for its turn
/// and is otherwise answered 503 with `Retry-After`, whether or not its account exists.
#[derive(Clone)]
pub(crate) struct VerificationLimit {
    permits: Arc<Semaphore>,
    max_wait: Duration,
}

impl VerificationLimit {
    /// How long a login waits for a free verification slot before a 503.
    pub(crate) const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(5);

    /// At most `concurrent` verifications at once (at least one).
    pub(crate) fn new(concurrent: usize, max_wait: Duration) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrent.max(1))),
            max_wait,
        }
    }

    /// One verification per available core.
    pub(crate) fn per_core() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::new(cores, Self::DEFAULT_MAX_WAIT)
    }

    /// Runs the CPU-bound `check` on the blocking pool once a slot is free; `Busy` if none
    /// frees up in time.
    pub(crate) async fn run<T, F>(&self, check: F) -> Result<T, VerificationFailed>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = tokio::time::timeout(self.max_wait, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| VerificationFailed::Busy)?
            .map_err(|_| VerificationFailed::Busy)?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            check()
        })
        .await
        .map_err(|e| VerificationFailed::Crashed(e.to_string()))
    }
}

/// Why a password check did not run to its answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum VerificationFailed {
    /// Every verification slot stayed busy: try again shortly.
    #[error("every password verification slot is busy")]
    Busy,
    /// The check itself failed (a panic on the blocking pool): a bug, not a busy server.
    #[error("the password check failed: {0}")]
    Crashed(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn verifications_wait_for_a_free_slot_and_give_up_busy() {
        let limit = VerificationLimit::new(1, Duration::from_millis(20));
        assert_eq!(limit.run(|| 7).await.unwrap(), 7);
        // The only slot taken (as by a verification in progress): the next one is refused.
        let held = limit.permits.clone().acquire_owned().await.unwrap();
        let refused = limit.run(|| 8).await;
        assert_eq!(refused, Err(VerificationFailed::Busy));
        // Once it is released, verifications run again.
        drop(held);
        assert_eq!(limit.run(|| 9).await.unwrap(), 9);
        assert_eq!(
            limit.permits.available_permits(),
            1,
            "every permit came back"
        );
    }

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

    /// New hashes carry 7 MiB and 5 passes; a hash made with the argon2 crate's default (19
    /// MiB, 2 passes, as earlier versions stored them) still opens with its password.
    #[test]
    fn new_hashes_use_less_memory_and_earlier_hashes_still_verify() {
        let password = NewPassword::parse("correct horse battery").unwrap();
        let new = hash(&password).unwrap();
        assert!(new.starts_with("$argon2id$v=19$m=7168,t=5,p=1$"), "{new}");
        let salt = SaltString::generate(&mut OsRng);
        let earlier = Argon2::default()
            .hash_password(b"correct horse battery", &salt)
            .unwrap()
            .to_string();
        assert!(
            earlier.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{earlier}"
        );
        assert!(verify("correct horse battery", &earlier));
        assert!(!verify("correct horse batterY", &earlier));
    }
}
