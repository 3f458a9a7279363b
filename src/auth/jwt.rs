//! JSON Web Tokens, HS256 with the configured secret. Manage tokens carry only the booking
//! reference (no patient data) and an audience no other token shares.

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::domain::booking::BookingReference;

pub const ISSUER: &str = "clinic-booking";
pub const MANAGE_AUDIENCE: &str = "clinic-booking:manage";

#[derive(Debug, Serialize, Deserialize)]
struct ManageClaims {
    sub: String,
    aud: String,
    iss: String,
    iat: i64,
    exp: i64,
}

#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    manage_days_after_visit: i64,
}

impl TokenKeys {
    pub fn new(secret: &SecretString, manage_days_after_visit: i64) -> Self {
        let bytes = secret.expose_secret().as_bytes();
        Self {
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            manage_days_after_visit,
        }
    }

    /// A token that opens `reference` until some days after the visit ends.
    pub fn issue_manage_token(
        &self,
        reference: &BookingReference,
        visit_ends: DateTime<Utc>,
    ) -> anyhow::Result<String> {
        let now = Utc::now();
        let expires = visit_ends + Duration::days(self.manage_days_after_visit);
        let claims = ManageClaims {
            sub: reference.as_str().to_owned(),
            aud: MANAGE_AUDIENCE.to_owned(),
            iss: ISSUER.to_owned(),
            iat: now.timestamp(),
            exp: expires.timestamp(),
        };
        Ok(encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    /// The booking a valid manage token opens; `None` for anything else (bad signature, other
    /// algorithm, expired, another audience).
    pub fn verify_manage_token(&self, token: &str) -> Option<BookingReference> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[MANAGE_AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
        validation.leeway = 0;
        let data = decode::<ManageClaims>(token, &self.decoding, &validation).ok()?;
        BookingReference::parse(&data.claims.sub)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: &str) -> TokenKeys {
        TokenKeys::new(&SecretString::from(secret.to_owned()), 30)
    }

    #[test]
    fn a_manage_token_opens_its_booking_only_with_the_right_secret() {
        let reference = BookingReference::generate();
        let token = keys("a-secret-of-sufficient-length-000000")
            .issue_manage_token(&reference, Utc::now())
            .unwrap();
        assert_eq!(
            keys("a-secret-of-sufficient-length-000000").verify_manage_token(&token),
            Some(reference)
        );
        assert_eq!(
            keys("another-secret-of-sufficient-length-1").verify_manage_token(&token),
            None
        );
    }

    #[test]
    fn expired_and_unsigned_tokens_are_refused() {
        let k = keys("a-secret-of-sufficient-length-000000");
        let reference = BookingReference::generate();
        let expired = k
            .issue_manage_token(&reference, Utc::now() - Duration::days(60))
            .unwrap();
        assert_eq!(k.verify_manage_token(&expired), None);

        // alg: none, with the same claims.
        use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let claims = URL_SAFE_NO_PAD.encode(format!(
            r#"{{"sub":"{}","aud":"{MANAGE_AUDIENCE}","iss":"{ISSUER}","iat":0,"exp":4102444800}}"#,
            reference.as_str()
        ));
        assert_eq!(k.verify_manage_token(&format!("{header}.{claims}.")), None);
    }
}
