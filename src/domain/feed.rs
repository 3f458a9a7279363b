//! A provider's calendar subscription token: 32 random bytes, base64url without padding (43
//! characters), the secret part of `/calendar/{token}.ics`. Only its SHA-256 is stored, so the
//! database alone cannot open a feed.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::Rng;
use sha2::{Digest, Sha256};

const TOKEN_LEN: usize = 43;

#[derive(Clone, PartialEq, Eq)]
pub struct FeedToken(String);

impl FeedToken {
    pub fn generate() -> Self {
        let bytes: [u8; 32] = rand::rng().random();
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A token as a URL carries it; `None` for anything that cannot be one.
    pub fn parse(value: &str) -> Option<Self> {
        let valid = value.len() == TOKEN_LEN
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        valid.then(|| Self(value.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What is stored: the SHA-256 of the token, in hex.
    pub fn digest(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }
}

impl std::fmt::Debug for FeedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FeedToken(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_only_their_digest_is_kept() {
        let token = FeedToken::generate();
        assert_eq!(token.expose().len(), TOKEN_LEN);
        assert_eq!(FeedToken::parse(token.expose()), Some(token.clone()));
        assert_ne!(token.digest(), token.expose());
        assert_eq!(token.digest().len(), 64);
        assert_ne!(FeedToken::generate(), token);
        for bad in [
            "",
            "short",
            &"a".repeat(44),
            &format!("{}=", "a".repeat(42)),
        ] {
            assert!(FeedToken::parse(bad).is_none(), "{bad}");
        }
    }
}
