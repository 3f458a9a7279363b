//! The booking form, as `POST /api/v1/bookings` and the call to action's `POST` both take it:
//! the patient's fields, the reason and the source, each bad or missing field named in a 422,
//! and the honeypot that turns naive bots away.

use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::Object;

use super::views::{or_null, pattern_schema};
use crate::domain::booking::{parse_reason, BookingSource};
use crate::domain::ids::VisitTypeId;
use crate::domain::language::Language;
use crate::domain::patient::{Patient, PatientInput, PHONE_FIELD_PATTERN};
use crate::domain::FieldErrors;
use crate::error::ApiError;

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PatientBody {
    /// 1 to 100 characters, one line.
    #[schema(required = true, nullable = false, min_length = 1, max_length = 100)]
    name: Option<String>,
    /// An address mail can be sent to.
    #[schema(required = true, nullable = false, format = Email, max_length = 254)]
    email: Option<String>,
    #[schema(schema_with = phone_field_schema)]
    phone: Option<String>,
    /// From 1900-01-01 until yesterday.
    #[schema(format = Date, max_length = 10)]
    date_of_birth: Option<String>,
    /// Text messages welcome at `phone` (a mobile number, which this needs): the confirmation,
    /// the reminder and any change, when the clinic sends texts. Default `false`.
    sms_consent: Option<bool>,
    /// The language the clinic writes to the patient in: every mail and text about the booking.
    /// Default: the request's `Accept-Language` (English or Spanish), else English.
    #[schema(value_type = Option<String>, nullable = false, pattern = "^(en|es)$", max_length = 2)]
    language: Option<String>,
}

fn phone_field_schema() -> Object {
    or_null(pattern_schema(PHONE_FIELD_PATTERN))
        .max_length(Some(32))
        .description(Some(
            "7 to 15 digits, optionally with `+`, spaces, dashes, dots or parentheses; blank is \
             no phone.",
        ))
        .build()
}

/// The patient of a request body, each bad or missing field recorded under `patient.<field>`.
pub(super) fn parse_patient(
    body: Option<&PatientBody>,
    (today, accepted): (chrono::NaiveDate, Language),
    errors: &mut FieldErrors,
) -> Option<Patient> {
    let Some(p) = body else {
        errors.add("patient", "patient is required");
        return None;
    };
    if p.name.is_none() {
        errors.add("patient.name", "name is required");
    }
    if p.email.is_none() {
        errors.add("patient.email", "email is required");
    }
    let language = match p.language.as_deref() {
        Some(code) => errors.check(
            "patient.language",
            Language::parse_stored(code).ok_or_else(|| "must be `en` or `es`".to_owned()),
        ),
        None => Some(accepted),
    };
    let input = PatientInput {
        name: p.name.as_deref().unwrap_or_default(),
        email: p.email.as_deref().unwrap_or_default(),
        phone: p.phone.as_deref(),
        date_of_birth: p.date_of_birth.as_deref(),
        sms_consent: p.sms_consent.unwrap_or(false),
        language: language.unwrap_or_default(),
    };
    let patient = Patient::parse(input, today, errors);
    language.and(patient)
}

/// The language a request prefers by its `Accept-Language` (English when it names neither of
/// ours): a patient's default when the form does not say.
pub(super) fn accepted_language(req: &actix_web::HttpRequest) -> Language {
    req.headers()
        .get(actix_web::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Language::from_accept_language)
        .unwrap_or_default()
}

/// The optional reason for the visit; a bad one is recorded under `reason`.
pub(super) fn parse_reason_field(reason: Option<&str>, errors: &mut FieldErrors) -> Option<String> {
    errors.check("reason", parse_reason(reason?)).flatten()
}

/// The source a public form names (an article's slug, ...), or `default` when it names none;
/// a bad one is recorded under `source`.
pub(super) fn parse_source_field(
    source: Option<&str>,
    default: &'static str,
    errors: &mut FieldErrors,
) -> Option<BookingSource> {
    match source {
        Some(s) => errors.check("source", BookingSource::parse_public(s)),
        None => Some(BookingSource::named(default)),
    }
}

/// The visit type a form names; one beyond the id column's range is recorded under
/// `visit_type_id` like an unknown one.
pub(super) fn parse_visit_type_field(
    id: Option<i64>,
    errors: &mut FieldErrors,
) -> Option<VisitTypeId> {
    let id = id?;
    let parsed = VisitTypeId::try_from(id).ok().filter(|v| v.get() > 0);
    if parsed.is_none() {
        errors.add("visit_type_id", "no such visit type");
    }
    parsed
}

/// What `reject_bots` lets through, as a JSON Schema pattern: nothing but white space.
const HONEYPOT_PATTERN: &str = r"^\s*$";

/// The honeypot as both forms document it: left out, `null` or empty (`maxLength` 0; white space
/// alone passes too, as the pattern says).
pub(super) fn honeypot_schema() -> Object {
    or_null(pattern_schema(HONEYPOT_PATTERN))
        .max_length(Some(0))
        .description(Some(
            "The booking form's honeypot, a field people never see: leave it out or empty.",
        ))
        .build()
}

/// A form's honeypot: a field people never see, so only a naive bot fills it in.
pub(super) fn reject_bots(honeypot: Option<&str>) -> Result<(), ApiError> {
    match honeypot {
        Some(value) if !value.trim().is_empty() => Err(ApiError::BadRequest(
            "this request was rejected as automated".into(),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_honeypot_pattern_admits_exactly_what_passes() {
        let pattern = regex::Regex::new(HONEYPOT_PATTERN).unwrap();
        for value in [
            "",
            " ",
            "\t\n",
            "\u{a0}",
            "x",
            " https://spam.example ",
            "\u{200b}",
        ] {
            assert_eq!(
                pattern.is_match(value),
                reject_bots(Some(value)).is_ok(),
                "{value:?}"
            );
        }
    }
}
