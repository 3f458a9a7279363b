//! Who may touch what: the manage token that opens one booking for the patient who made it,
//! and staff logins with roles (`extractor`, `password`).

pub(crate) mod extractor;
pub mod jwt;
pub(crate) mod password;

use actix_web::{http::header, HttpRequest};

/// The bearer token of a request, if it has one.
pub(crate) fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}
