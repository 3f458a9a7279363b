//! A hold: a time kept for one patient for a few minutes while they fill in the form. Outside,
//! a hold is named by its token, a random secret the patient's page keeps; the database keeps
//! only the token's SHA-256, so a copy of the table cannot be used to book held times.

use std::fmt;

use rand::Rng;
use sha2::{Digest, Sha256};

/// Letters and digits that read back unambiguously (Crockford's base32, lower case).
const TOKEN_ALPHABET: &[u8] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// 32 characters of 5 bits: 160 random bits.
const TOKEN_LEN: usize = 32;
const TOKEN_PREFIX: &str = "hold_";

/// A hold's secret name, e.g. `hold_3kq9...` (37 characters).
#[derive(Clone, PartialEq, Eq)]
pub struct HoldToken(String);

impl HoldToken {
    /// A token as the API writes and reads it, as a JSON Schema pattern.
    pub const PATTERN: &str = "^hold_[0-9a-hjkmnp-tv-z]{32}$";

    pub(crate) fn generate() -> Self {
        let mut rng = rand::rng();
        let code: String = (0..TOKEN_LEN)
            .map(|_| TOKEN_ALPHABET[rng.random_range(0..TOKEN_ALPHABET.len())] as char)
            .collect();
        Self(format!("{TOKEN_PREFIX}{code}"))
    }

    /// A token exactly as issued; anything else is no token.
    pub fn parse(value: &str) -> Option<Self> {
        let code = value.strip_prefix(TOKEN_PREFIX)?;
        let valid = code.len() == TOKEN_LEN && code.bytes().all(|b| TOKEN_ALPHABET.contains(&b));
        valid.then(|| Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the database keeps and looks the hold up by.
    pub fn digest(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }
}

/// Never printed whole: a token in a log line would let its reader book the held time.
impl fmt::Debug for HoldToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HoldToken(..)")
    }
}

/// Where a hold stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldStatus {
    /// Keeping its time until it expires.
    Active,
    /// Its time passed; the time is open to anyone again.
    Expired,
    /// Let go before it expired.
    Released,
    /// Booked: the hold became a booking.
    Booked,
}

impl HoldStatus {
    pub const ALL: [Self; 4] = [Self::Active, Self::Expired, Self::Released, Self::Booked];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Expired => "expired",
            Self::Released => "released",
            Self::Booked => "booked",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_read_back_exactly_and_never_printed() {
        let token = HoldToken::generate();
        assert_ne!(token, HoldToken::generate());
        assert!(regex::Regex::new(HoldToken::PATTERN)
            .unwrap()
            .is_match(token.as_str()));
        assert_eq!(HoldToken::parse(token.as_str()), Some(token.clone()));
        assert_eq!(HoldToken::parse(&token.as_str().to_uppercase()), None);
        assert_eq!(HoldToken::parse(&format!("{} ", token.as_str())), None);
        assert_eq!(HoldToken::parse("hold_"), None);
        assert_eq!(token.digest().len(), 64);
        assert!(!format!("{token:?}").contains(token.as_str()));
    }
}
