//! JSON Web Tokens, HS256 with the configured secret. Manage tokens carry only the booking
//! reference (no patient data) and an audience no other token shares; staff tokens carry the
//! user's id, address and role under their own audience, so neither kind passes for the other.

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::domain::booking::BookingReference;
use crate::domain::ids::UserId;
use crate::domain::staff::{Role, StaffIdentity};

pub(crate) const ISSUER: &str = "clinic-booking";
pub(crate) const MANAGE_AUDIENCE: &str = "clinic-booking:manage";
pub(crate) const STAFF_AUDIENCE: &str = "clinic-booking:staff";

/// What a waitlist link opens; each is its own audience, so no link passes for another (nor for
/// a manage or staff token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitlistLink {
    /// The entry itself (reading it, leaving the list): given to whoever made it. Names the
    /// entry's reference.
    Entry,
    /// The verification link, sent only to the patient's address. Names the entry's reference.
    Verify,
    /// One offer's accept and decline links, sent only to the patient's address. Names the
    /// offer's id.
    Offer,
}

impl WaitlistLink {
    fn audience(self) -> &'static str {
        match self {
            Self::Entry => "clinic-booking:waitlist-entry",
            Self::Verify => "clinic-booking:waitlist-verify",
            Self::Offer => "clinic-booking:waitlist-offer",
        }
    }
}

/// A token as the API hands it out, as a JSON Schema pattern: a compact JWS, three unpadded
/// base64url parts (header, claims, signature).
pub(crate) const TOKEN_PATTERN: &str = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$";

#[derive(Debug, Serialize, Deserialize)]
struct StaffClaims {
    sub: String,
    aud: String,
    iss: String,
    iat: i64,
    exp: i64,
    role: String,
    email: String,
}

/// A freshly signed staff token and how many seconds it lives.
pub struct IssuedToken {
    pub token: String,
    pub expires_in: i64,
}

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
    staff_token_lifetime: Duration,
    /// Keys the short manage links of text messages (`manage_link_code`).
    link_key: Vec<u8>,
}

/// The tag of a short manage link: 12 base64url characters (72 bits) of HMAC-SHA256.
const LINK_TAG_CHARS: usize = 12;

impl TokenKeys {
    pub fn new(secret: &SecretString, manage_days_after_visit: i64) -> Self {
        let bytes = secret.expose_secret().as_bytes();
        Self {
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            manage_days_after_visit,
            staff_token_lifetime: Duration::minutes(crate::settings::DEFAULT_STAFF_TOKEN_MINUTES),
            link_key: bytes.to_vec(),
        }
    }

    /// The code of a booking's short manage link (`/m/{code}`, for text messages, where a full
    /// token would take three messages): its reference and a 72-bit HMAC tag under the app's
    /// secret. Following it issues a manage token, which expires as any does (days after the
    /// visit), so the link is no longer-lived than the mail's.
    pub(crate) fn manage_link_code(&self, reference: &BookingReference) -> String {
        format!("{}.{}", reference.as_str(), self.link_tag(reference))
    }

    fn link_mac(&self, reference: &BookingReference) -> Option<hmac::Hmac<sha2::Sha256>> {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.link_key).ok()?;
        mac.update(b"clinic-booking manage link\0");
        mac.update(reference.as_str().as_bytes());
        Some(mac)
    }

    fn link_tag(&self, reference: &BookingReference) -> String {
        use base64::Engine;
        use hmac::Mac;
        let Some(mac) = self.link_mac(reference) else {
            return String::new();
        };
        let tag =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        tag[..LINK_TAG_CHARS].to_owned()
    }

    /// The booking a short manage link's code names, if its tag is right (compared in constant
    /// time, by hmac).
    pub(crate) fn verify_manage_link(&self, code: &str) -> Option<BookingReference> {
        use base64::Engine;
        use hmac::Mac;
        let (reference, tag) = code.split_once('.')?;
        let reference = BookingReference::parse(reference)?;
        if tag.len() != LINK_TAG_CHARS {
            return None;
        }
        let tag = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(tag)
            .ok()?;
        self.link_mac(&reference)?
            .verify_truncated_left(&tag)
            .ok()
            .map(|()| reference)
    }

    /// Sets how long staff tokens live (`auth.staff_token_minutes`).
    pub(crate) fn with_staff_token_minutes(mut self, minutes: i64) -> Self {
        self.staff_token_lifetime = Duration::minutes(minutes);
        self
    }

    /// A short-lived token for a logged-in staff member.
    pub(crate) fn issue_staff_token(&self, staff: &StaffIdentity) -> anyhow::Result<IssuedToken> {
        let now = Utc::now();
        let claims = StaffClaims {
            sub: staff.user_id.to_string(),
            aud: STAFF_AUDIENCE.to_owned(),
            iss: ISSUER.to_owned(),
            iat: now.timestamp(),
            exp: (now + self.staff_token_lifetime).timestamp(),
            role: staff.role.as_str().to_owned(),
            email: staff.email.clone(),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok(IssuedToken {
            token,
            expires_in: self.staff_token_lifetime.num_seconds(),
        })
    }

    /// Who a valid staff token speaks for; `None` for anything else (bad signature, `alg: none`
    /// or any other algorithm, expired, a manage token or another audience, unknown role).
    pub(crate) fn verify_staff_token(&self, token: &str) -> Option<StaffIdentity> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[STAFF_AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
        validation.leeway = 0;
        let claims = decode::<StaffClaims>(token, &self.decoding, &validation)
            .ok()?
            .claims;
        Some(StaffIdentity {
            user_id: UserId::new(claims.sub.parse().ok()?),
            email: claims.email,
            role: Role::parse(&claims.role)?,
        })
    }

    /// A token that opens `reference` until some days after the visit ends.
    pub(crate) fn issue_manage_token(
        &self,
        reference: &BookingReference,
        visit_ends: DateTime<Utc>,
    ) -> anyhow::Result<String> {
        let now = Utc::now();
        let expires = visit_ends
            .checked_add_signed(Duration::days(self.manage_days_after_visit))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
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
    pub(crate) fn verify_manage_token(&self, token: &str) -> Option<BookingReference> {
        let subject = self.verify_subject(token, MANAGE_AUDIENCE)?;
        BookingReference::parse(&subject)
    }

    /// The subject of a valid token of `audience`; `None` for anything else.
    fn verify_subject(&self, token: &str, audience: &str) -> Option<String> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[audience]);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
        validation.leeway = 0;
        let data = decode::<ManageClaims>(token, &self.decoding, &validation).ok()?;
        Some(data.claims.sub)
    }

    /// A waitlist link naming `subject` (an entry's reference, an offer's id) until `expires`.
    pub(crate) fn issue_waitlist_token(
        &self,
        link: WaitlistLink,
        subject: &str,
        expires: DateTime<Utc>,
    ) -> anyhow::Result<String> {
        let claims = ManageClaims {
            sub: subject.to_owned(),
            aud: link.audience().to_owned(),
            iss: ISSUER.to_owned(),
            iat: Utc::now().timestamp(),
            exp: expires.timestamp(),
        };
        Ok(encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    /// What a valid waitlist link of kind `link` names; `None` for anything else.
    pub(crate) fn verify_waitlist_token(&self, link: WaitlistLink, token: &str) -> Option<String> {
        self.verify_subject(token, link.audience())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_manage_link_opens_its_booking_only_under_its_secret() {
        let ours = keys("a-secret-of-at-least-thirty-two-bytes-0123456789");
        let theirs = keys("another-secret-of-at-least-thirty-two-bytes-0123");
        let reference = BookingReference::parse("BK-7Q2M9XA4KD").unwrap();
        let code = ours.manage_link_code(&reference);
        assert_eq!(code.len(), "BK-7Q2M9XA4KD.".len() + LINK_TAG_CHARS);
        assert_eq!(ours.verify_manage_link(&code), Some(reference.clone()));
        assert_eq!(theirs.verify_manage_link(&code), None);
        let other = BookingReference::parse("BK-7Q2M9XA4KE").unwrap();
        let forged = format!("{}.{}", other.as_str(), &code[14..]);
        assert_eq!(ours.verify_manage_link(&forged), None);
        for bad in [
            "",
            "BK-7Q2M9XA4KD",
            "BK-7Q2M9XA4KD.",
            "BK-7Q2M9XA4KD.short",
            "x.y",
        ] {
            assert_eq!(ours.verify_manage_link(bad), None, "{bad}");
        }
    }

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

    #[test]
    fn issued_tokens_match_the_documented_pattern() {
        let pattern = regex::Regex::new(TOKEN_PATTERN).unwrap();
        let k = keys("a-secret-of-sufficient-length-000000");
        for role in [Role::Admin, Role::FrontDesk, Role::Provider] {
            let staff = StaffIdentity {
                user_id: UserId::new(i32::MAX),
                email: "o'neil+desk@clinic.example".into(),
                role,
            };
            let token = k.issue_staff_token(&staff).unwrap().token;
            assert!(pattern.is_match(&token), "{token}");
        }
        for _ in 0..100 {
            let reference = BookingReference::generate();
            let token = k.issue_manage_token(&reference, Utc::now()).unwrap();
            assert!(pattern.is_match(&token), "{token}");
        }
    }

    #[test]
    fn staff_and_manage_tokens_do_not_pass_for_each_other() {
        let k = keys("a-secret-of-sufficient-length-000000");
        let staff = StaffIdentity {
            user_id: UserId::new(7),
            email: "desk@clinic.example".into(),
            role: Role::FrontDesk,
        };
        let issued = k.issue_staff_token(&staff).unwrap();
        assert_eq!(issued.expires_in, 3600);
        assert_eq!(k.verify_staff_token(&issued.token), Some(staff));
        assert_eq!(k.verify_manage_token(&issued.token), None);
        let manage = k
            .issue_manage_token(&BookingReference::generate(), Utc::now())
            .unwrap();
        assert_eq!(k.verify_staff_token(&manage), None);
        let other = keys("another-secret-of-sufficient-length-1");
        assert_eq!(other.verify_staff_token(&issued.token), None);
        let expired = k.with_staff_token_minutes(-5);
        let old = expired
            .issue_staff_token(&StaffIdentity {
                user_id: UserId::new(7),
                email: "desk@clinic.example".into(),
                role: Role::Admin,
            })
            .unwrap();
        assert_eq!(expired.verify_staff_token(&old.token), None);
    }

    #[test]
    fn each_waitlist_link_opens_only_its_own_kind() {
        let k = keys("a-secret-of-sufficient-length-000000");
        let later = Utc::now() + Duration::days(1);
        let entry = k
            .issue_waitlist_token(WaitlistLink::Entry, "WL-7Q2M9XA4KD", later)
            .unwrap();
        assert_eq!(
            k.verify_waitlist_token(WaitlistLink::Entry, &entry)
                .as_deref(),
            Some("WL-7Q2M9XA4KD")
        );
        assert_eq!(k.verify_waitlist_token(WaitlistLink::Verify, &entry), None);
        assert_eq!(k.verify_waitlist_token(WaitlistLink::Offer, &entry), None);
        assert_eq!(k.verify_manage_token(&entry), None);
        let manage = k
            .issue_manage_token(&BookingReference::generate(), later)
            .unwrap();
        assert_eq!(k.verify_waitlist_token(WaitlistLink::Entry, &manage), None);
        let past = Utc::now() - Duration::minutes(1);
        let expired = k
            .issue_waitlist_token(WaitlistLink::Offer, "12", past)
            .unwrap();
        assert_eq!(k.verify_waitlist_token(WaitlistLink::Offer, &expired), None);
        let other = keys("another-secret-of-sufficient-length-1");
        assert_eq!(
            other.verify_waitlist_token(WaitlistLink::Entry, &entry),
            None
        );
    }
}
