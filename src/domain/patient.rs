//! The patient as the booking form gives them: name, email, optional phone and date of birth.

use chrono::NaiveDate;

use super::{clean_text, FieldErrors};

const NAME_MAX_CHARS: usize = 100;
const EMAIL_MAX_CHARS: usize = 254;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientName(String);

impl PatientName {
    pub fn parse(value: &str) -> Result<Self, String> {
        let name = clean_text(value, NAME_MAX_CHARS, "name")?;
        if name.is_empty() {
            return Err("name must not be empty".into());
        }
        if name.contains(['\n', '\r', '\t']) {
            return Err("name must be a single line".into());
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(value: &str) -> Result<Self, String> {
        let email = value.trim();
        if email.chars().count() > EMAIL_MAX_CHARS {
            return Err(format!(
                "email must be at most {EMAIL_MAX_CHARS} characters"
            ));
        }
        // `email_address` follows RFC 5322; a clinic also needs a domain that can receive mail,
        // so a dotted domain is required and display-name forms and domain literals (`a@[]`,
        // which the dotted-domain rule does not cover) are refused.
        let parsed = email_address::EmailAddress::parse_with_options(
            email,
            email_address::Options::default()
                .with_required_tld()
                .without_display_text()
                .without_domain_literal(),
        )
        .map_err(|_| "email must be a valid address like name@example.com".to_string())?;
        Ok(Self(parsed.as_str().to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number as people write it: digits with optional `+` prefix, spaces, dots, dashes and
/// parentheses; 7 to 15 digits (E.164's maximum).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(value: &str) -> Result<Self, String> {
        let phone = value.trim();
        let message =
            "phone must be 7 to 15 digits, optionally with +, spaces, dashes, dots or parentheses";
        let body = phone.strip_prefix('+').unwrap_or(phone);
        if !body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')'))
        {
            return Err(message.into());
        }
        let digits = body.chars().filter(char::is_ascii_digit).count();
        if !(7..=15).contains(&digits) || phone.len() > 32 {
            return Err(message.into());
        }
        Ok(Self(phone.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A date of birth: in the past, and not before 1900.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateOfBirth(NaiveDate);

impl DateOfBirth {
    pub fn parse(value: &str, today: NaiveDate) -> Result<Self, String> {
        let date = NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
            .map_err(|_| "date_of_birth must be a date as YYYY-MM-DD".to_string())?;
        Self::new(date, today)
    }

    pub fn new(date: NaiveDate, today: NaiveDate) -> Result<Self, String> {
        let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN);
        if date >= today {
            return Err("date_of_birth must be in the past".into());
        }
        if date < earliest {
            return Err("date_of_birth must not be before 1900-01-01".into());
        }
        Ok(Self(date))
    }

    pub fn date(&self) -> NaiveDate {
        self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patient {
    pub name: PatientName,
    pub email: EmailAddress,
    pub phone: Option<PhoneNumber>,
    pub date_of_birth: Option<DateOfBirth>,
}

/// The unvalidated patient of a request.
#[derive(Debug, Clone, Default)]
pub struct PatientInput<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub phone: Option<&'a str>,
    pub date_of_birth: Option<&'a str>,
}

impl Patient {
    /// Parses every field, recording each failure under `patient.<field>`.
    pub fn parse(
        input: PatientInput<'_>,
        today: NaiveDate,
        errors: &mut FieldErrors,
    ) -> Option<Self> {
        let name = errors.check("patient.name", PatientName::parse(input.name));
        let email = errors.check("patient.email", EmailAddress::parse(input.email));
        // `None` = absent, `Some(None)` = present but invalid (already recorded).
        let phone = input
            .phone
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| errors.check("patient.phone", PhoneNumber::parse(p)));
        let date_of_birth = input
            .date_of_birth
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(|d| errors.check("patient.date_of_birth", DateOfBirth::parse(d, today)));
        let phone = phone.map_or(Some(None), |p| p.map(Some));
        let date_of_birth = date_of_birth.map_or(Some(None), |d| d.map(Some));
        Some(Self {
            name: name?,
            email: email?,
            phone: phone?,
            date_of_birth: date_of_birth?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            PatientName::parse("  Ana Díaz ").unwrap().as_str(),
            "Ana Díaz"
        );
        assert!(PatientName::parse("   ").is_err());
        assert!(PatientName::parse(&"é".repeat(100)).is_ok());
        assert!(PatientName::parse(&"é".repeat(101)).is_err());
        assert!(PatientName::parse("Ana\nDíaz").is_err());
        assert!(PatientName::parse("Ana\u{0}").is_err());
    }

    #[test]
    fn emails_need_a_user_and_a_dotted_domain() {
        assert!(EmailAddress::parse("ana@example.com").is_ok());
        for bad in [
            "",
            "ana",
            "ana@",
            "@example.com",
            "ana@localhost",
            "Ana <ana@example.com>",
            "a b@example.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn phones_are_digits_with_punctuation() {
        for good in ["+1 (602) 555-0134", "602.555.0134", "6025550134"] {
            assert!(PhoneNumber::parse(good).is_ok(), "{good} should pass");
        }
        for bad in [
            "12345",
            "call me",
            "+1 602 555 0134 ext 9",
            "++16025550134",
            "1234567890123456",
        ] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn dates_of_birth_are_in_the_past() {
        assert!(DateOfBirth::parse("1980-02-29", today()).is_ok());
        assert!(DateOfBirth::parse("2026-11-25", today()).is_err());
        assert!(DateOfBirth::parse("2030-01-01", today()).is_err());
        assert!(DateOfBirth::parse("1899-12-31", today()).is_err());
        assert!(DateOfBirth::parse("1981-02-29", today()).is_err());
        assert!(DateOfBirth::parse("yesterday", today()).is_err());
    }

    #[test]
    fn patient_parse_names_every_bad_field() {
        let mut errors = FieldErrors::default();
        let patient = Patient::parse(
            PatientInput {
                name: "",
                email: "nope",
                phone: Some("x"),
                date_of_birth: Some("2999-01-01"),
            },
            today(),
            &mut errors,
        );
        assert!(patient.is_none());
        let map = errors.into_map();
        for field in [
            "patient.name",
            "patient.email",
            "patient.phone",
            "patient.date_of_birth",
        ] {
            assert!(map.contains_key(field), "missing {field}: {map:?}");
        }
    }
}

/// The limits of the patient's field rules.
#[cfg(test)]
mod properties {
    use super::*;

    #[test]
    fn the_rules_edges() {
        // Each rule's limits, just inside and just outside.
        let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        assert!(DateOfBirth::parse("1900-01-01", today).is_ok());
        assert!(DateOfBirth::parse("2026-11-24", today).is_ok());
        assert!(DateOfBirth::parse(" 2026-1-5 ", today).is_ok());
        assert!(PhoneNumber::parse("1234567").is_ok());
        assert!(PhoneNumber::parse("+123456789012345").is_ok());
        assert!(
            PhoneNumber::parse("(1)-(2)-(3)-(4)-(5)-(6)-(7)-(8)-(9)").is_err(),
            "35 characters"
        );
        assert!(PatientName::parse(&"a".repeat(NAME_MAX_CHARS)).is_ok());
        for literal in ["ana@[]", "ana@[localhost]", "ana@[192.0.2.1]"] {
            assert!(EmailAddress::parse(literal).is_err(), "{literal}");
        }
    }
}
