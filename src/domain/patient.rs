//! The patient as the booking form gives them: name, email, optional phone and date of birth.

use chrono::NaiveDate;
use lettre::message::Mailbox;

use super::language::Language;
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
        if !deliverable(parsed.as_str()) {
            return Err(
                "email must be an address mail can be sent to, like name@example.com".into(),
            );
        }
        Ok(Self(parsed.as_str().to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether the mail transport can address a message to `email`, by its own rules: lettre
/// parses the address and derives the message's envelope from its `To` header. RFC 5322 allows
/// quoted local parts with spaces or `@` (`"ana diaz"@example.com`) that parse, then yield no
/// envelope, so every attempt to send would fail.
fn deliverable(email: &str) -> bool {
    let Ok(address) = email.parse::<lettre::Address>() else {
        return false;
    };
    let sender = lettre::Address::new("clinic", "example.com").map(|a| Mailbox::new(None, a));
    let Ok(sender) = sender else {
        return false;
    };
    lettre::Message::builder()
        .from(sender)
        .to(Mailbox::new(None, address))
        .body(String::new())
        .is_ok()
}

/// A phone number as people write it: digits with optional `+` prefix, spaces, dots, dashes and
/// parentheses; 7 to 15 digits (E.164's maximum).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

/// A phone number `PhoneNumber::parse` accepts, once trimmed (as it is kept), as a JSON Schema
/// pattern; the 32 characters are the schema's `maxLength`.
pub const PHONE_PATTERN: &str = r"^\+?[ .()-]*(?:[0-9][ .()-]*){7,15}$";

/// The booking form's phone field: one `PHONE_PATTERN` admits with white space around it, or
/// blank (read as no phone).
pub const PHONE_FIELD_PATTERN: &str = r"^\s*(?:\+?[ .()-]*(?:[0-9][ .()-]*){7,15})?\s*$";

impl PhoneNumber {
    /// `value` in E.164 (`+16025550134`), read in `region` (ISO 3166 alpha-2) when it has no
    /// `+country code`; `None` if it cannot be a number there (libphonenumber's rules).
    pub fn e164(value: &str, region: &str) -> Option<String> {
        let region: phonenumber::country::Id = region.trim().parse().ok()?;
        let number = phonenumber::parse(Some(region), value.trim()).ok()?;
        Some(number.format().mode(phonenumber::Mode::E164).to_string())
    }

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
    /// Text messages about the visit are welcome at `phone` (which it needs).
    pub sms_consent: bool,
    /// The language the clinic writes to them in (mails, texts).
    pub language: Language,
}

/// The unvalidated patient of a request.
#[derive(Debug, Clone, Default)]
pub struct PatientInput<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub phone: Option<&'a str>,
    pub date_of_birth: Option<&'a str>,
    pub sms_consent: bool,
    pub language: Language,
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
        if input.sms_consent && input.phone.is_none_or(|p| p.trim().is_empty()) {
            errors.add(
                "patient.sms_consent",
                "text messages need a mobile number in `phone`",
            );
            return None;
        }
        Some(Self {
            name: name?,
            email: email?,
            phone: phone?,
            date_of_birth: date_of_birth?,
            sms_consent: input.sms_consent,
            language: input.language,
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
    fn emails_are_addresses_the_mailer_can_send_to() {
        // Valid RFC 5322, but lettre derives no envelope from them: every send would fail.
        for undeliverable in [r#""ana diaz"@example.com"#, r#""a@b"@example.com"#] {
            assert!(
                EmailAddress::parse(undeliverable).is_err(),
                "{undeliverable} should be refused"
            );
        }
        for fine in [
            r#""ana"@example.com"#,
            "ana.o'neil+desk@example.com",
            "josé@example.com",
        ] {
            assert!(
                EmailAddress::parse(fine).is_ok(),
                "{fine} should be accepted"
            );
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
                sms_consent: false,
                language: Language::En,
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

/// Properties of the patient's fields: parsing never panics on any text, accepts exactly what
/// each field's rule allows, keeps a form that parses back to itself, and names each refused
/// field under `patient.<field>`.
#[cfg(test)]
mod properties {
    use std::collections::BTreeSet;

    use chrono::Datelike;
    use proptest::prelude::*;

    use super::*;

    fn config() -> ProptestConfig {
        let mut config = ProptestConfig::with_cases(256);
        // Counterexamples are reported in the failure message; no regression files in `src/`.
        config.failure_persistence = None;
        config
    }

    /// White space `str::trim` removes, ASCII and not.
    const SPACES: [&str; 7] = [" ", "\t", "\n", "\r\n", "\u{a0}", "\u{2028}", "\u{3000}"];

    /// `text` with white space before and after it, now and then.
    fn padded(text: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
        let space = || prop::collection::vec(proptest::sample::select(&SPACES[..]), 0..=2);
        (space(), text, space()).prop_map(|(before, text, after)| {
            format!("{}{text}{}", before.concat(), after.concat())
        })
    }

    fn names() -> impl Strategy<Value = String> {
        padded(prop_oneof![
            3 => "[\\p{L}][\\p{L}\\p{M} .'-]{0,40}",
            1 => "[a-zé]{95,105}",
            1 => "[A-Za-z]{1,5}[\u{0}-\u{1f}\u{7f}-\u{9f}\u{200b}\u{202e}][a-z]{0,5}",
            1 => any::<String>(),
        ])
    }

    /// Addresses the rule should accept: a dot-atom user and a dotted host name.
    fn good_emails() -> impl Strategy<Value = String> {
        let user = "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,10}(\\.[a-zA-Z0-9_+-]{1,8}){0,2}";
        let label = "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?";
        (user, prop::collection::vec(label, 2..=4))
            .prop_map(|(user, labels)| format!("{user}@{}", labels.join(".")))
    }

    fn emails() -> impl Strategy<Value = String> {
        padded(prop_oneof![
            3 => good_emails(),
            2 => "[a-z\"@. <>\\[\\]\\\\()]{0,24}",
            1 => "\"[a-z @\\\\\t]{0,8}\"@[a-z]{1,5}(\\.[a-z]{1,3}){0,2}",
            1 => "[a-z]{1,5}@\\[[0-9a-z.:]{0,12}\\]",
            1 => "[a-z]{60,70}@[a-z]{60,70}\\.[a-z]{60,70}\\.[a-z]{60,70}",
            1 => any::<String>(),
        ])
    }

    fn phones() -> impl Strategy<Value = String> {
        padded(prop_oneof![
            4 => "\\+?[0-9 ().-]{0,34}",
            1 => "\\+?[0-9+ ().x-]{5,20}",
            1 => any::<String>(),
        ])
    }

    /// `date` as written, now and then without leading zeros.
    fn date_text(date: NaiveDate, short: bool) -> String {
        if short {
            format!("{}-{}-{}", date.year(), date.month(), date.day())
        } else {
            date.format("%Y-%m-%d").to_string()
        }
    }

    fn day_between(
        first: (i32, u32, u32),
        last: (i32, u32, u32),
    ) -> impl Strategy<Value = NaiveDate> {
        let day = |(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).expect("a valid date");
        (day(first).num_days_from_ce()..=day(last).num_days_from_ce())
            .prop_map(|d| NaiveDate::from_num_days_from_ce_opt(d).expect("a valid date"))
    }

    fn todays() -> impl Strategy<Value = NaiveDate> {
        day_between((1990, 1, 1), (2100, 12, 31))
    }

    fn dates_of_birth() -> impl Strategy<Value = String> {
        let day = day_between((1850, 1, 1), (2150, 12, 31));
        padded(prop_oneof![
            4 => (day, any::<bool>()).prop_map(|(d, short)| date_text(d, short)),
            1 => "[0-9]{1,5}-[0-9]{1,3}-[0-9]{1,3}",
            1 => any::<String>(),
        ])
    }

    proptest! {
        #![proptest_config(config())]

        /// A name is accepted exactly when, trimmed, it is 1 to 100 characters without control
        /// characters (line breaks and tabs included); it is kept trimmed and parses to itself.
        #[test]
        fn names_are_trimmed_single_lines_of_1_to_100_characters(text in names()) {
            let trimmed = text.trim();
            let allowed = !trimmed.is_empty()
                && trimmed.chars().count() <= NAME_MAX_CHARS
                && !trimmed.chars().any(char::is_control);
            let parsed = PatientName::parse(&text);
            prop_assert_eq!(parsed.is_ok(), allowed, "{:?}", parsed);
            if let Ok(name) = parsed {
                prop_assert_eq!(name.as_str(), trimmed);
                prop_assert_eq!(PatientName::parse(name.as_str()), Ok(name.clone()));
            }
        }

        /// An accepted email is the trimmed input, at most 254 characters: a non-empty user, the
        /// last `@`, and a host of at least two non-empty labels that begin and end with a letter
        /// or digit. It parses to itself, and the mailer can address it.
        #[test]
        fn accepted_emails_have_a_user_and_a_dotted_host(text in emails()) {
            let Ok(email) = EmailAddress::parse(&text) else {
                return Ok(());
            };
            let stored = email.as_str();
            prop_assert_eq!(stored, text.trim());
            prop_assert!(stored.chars().count() <= EMAIL_MAX_CHARS);
            let (user, host) = stored.rsplit_once('@').expect("an @");
            prop_assert!(!user.is_empty());
            let labels: Vec<&str> = host.split('.').collect();
            prop_assert!(labels.len() >= 2, "{} has no dot", host);
            for label in labels {
                prop_assert!(label.starts_with(char::is_alphanumeric), "{}", host);
                prop_assert!(label.ends_with(char::is_alphanumeric), "{}", host);
            }
            prop_assert_eq!(EmailAddress::parse(stored), Ok(email.clone()));
            prop_assert!(stored.parse::<lettre::Address>().is_ok());
        }

        /// Plain addresses (a dot-atom user, a dotted host name) are accepted, trimmed.
        #[test]
        fn plain_emails_are_accepted(
            (email, text) in good_emails().prop_flat_map(|e| (Just(e.clone()), padded(Just(e))))
        ) {
            let parsed = EmailAddress::parse(&text);
            prop_assert_eq!(parsed.map(|e| e.as_str().to_owned()), Ok(email));
        }

        /// A phone number is accepted exactly when, trimmed, it is an optional `+` then digits,
        /// spaces, dots, dashes and parentheses, with 7 to 15 digits, in at most 32 characters.
        /// It is kept as typed (trimmed, not reformatted), parses to itself, and its digits alone
        /// (with the `+`) are a stable form: accepted too, and unchanged by parsing.
        #[test]
        fn phones_are_7_to_15_digits_kept_as_typed(text in phones()) {
            let trimmed = text.trim();
            let body = trimmed.strip_prefix('+').unwrap_or(trimmed);
            let digits: String = body.chars().filter(char::is_ascii_digit).collect();
            let allowed = body.chars().all(|c| c.is_ascii_digit() || " .-()".contains(c))
                && (7..=15).contains(&digits.len())
                && trimmed.len() <= 32;
            let parsed = PhoneNumber::parse(&text);
            prop_assert_eq!(parsed.is_ok(), allowed, "{:?}", parsed);
            if let Ok(phone) = parsed {
                prop_assert_eq!(phone.as_str(), trimmed);
                prop_assert_eq!(PhoneNumber::parse(phone.as_str()), Ok(phone.clone()));
                let plus = if trimmed.starts_with('+') { "+" } else { "" };
                let compact = format!("{plus}{digits}");
                let again = PhoneNumber::parse(&compact);
                prop_assert_eq!(again.as_ref().map(PhoneNumber::as_str), Ok(compact.as_str()));
            }
        }

        /// The OpenAPI document's phone patterns say what is accepted: `PHONE_PATTERN` of the
        /// trimmed number, `PHONE_FIELD_PATTERN` of the form's field (where blank is no phone),
        /// both within the 32 characters.
        #[test]
        fn the_phone_patterns_admit_exactly_what_is_accepted(text in phones()) {
            let stored = regex::Regex::new(PHONE_PATTERN).unwrap();
            let field = regex::Regex::new(PHONE_FIELD_PATTERN).unwrap();
            let trimmed = text.trim();
            let accepted = PhoneNumber::parse(&text).is_ok();
            let short = trimmed.len() <= 32;
            prop_assert_eq!(stored.is_match(trimmed) && short, accepted, "{:?}", text);
            prop_assert_eq!(
                field.is_match(&text) && short,
                accepted || trimmed.is_empty(),
                "{:?}",
                text
            );
        }

        /// A date of birth is accepted exactly when it is a `YYYY-MM-DD` date from 1900-01-01 to
        /// the day before `today`; it is kept as that date and its written form parses back to it.
        #[test]
        fn dates_of_birth_are_from_1900_to_yesterday(text in dates_of_birth(), today in todays()) {
            let written = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok();
            let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap();
            let allowed = written.filter(|d| earliest <= *d && *d < today);
            let parsed = DateOfBirth::parse(&text, today);
            prop_assert_eq!(parsed.as_ref().ok().map(DateOfBirth::date), allowed, "{:?}", parsed);
            if let Ok(date_of_birth) = parsed {
                let again = DateOfBirth::parse(&date_text(date_of_birth.date(), false), today);
                prop_assert_eq!(again, Ok(date_of_birth));
            }
        }

        /// `Patient::parse` never panics; it records an error under `patient.<field>` for exactly
        /// the fields whose own rule refuses them (a blank phone or date of birth is absent, not
        /// refused), and gives a patient, made of each field's own result, exactly when it
        /// recorded none.
        #[test]
        fn patient_parse_names_exactly_the_refused_fields(
            name in names(),
            email in emails(),
            phone in proptest::option::of(prop_oneof![phones(), padded(Just(String::new()))]),
            date_of_birth in proptest::option::of(dates_of_birth()),
            today in todays(),
        ) {
            let blank_is_absent = |v: &Option<String>| {
                v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
            };
            let own_name = PatientName::parse(&name);
            let own_email = EmailAddress::parse(&email);
            let own_phone = blank_is_absent(&phone).map(|p| PhoneNumber::parse(&p));
            let own_date = blank_is_absent(&date_of_birth).map(|d| DateOfBirth::parse(&d, today));
            let mut refused = BTreeSet::new();
            if own_name.is_err() {
                refused.insert("patient.name");
            }
            if own_email.is_err() {
                refused.insert("patient.email");
            }
            if matches!(own_phone, Some(Err(_))) {
                refused.insert("patient.phone");
            }
            if matches!(own_date, Some(Err(_))) {
                refused.insert("patient.date_of_birth");
            }

            let mut errors = FieldErrors::default();
            let input = PatientInput {
                name: &name,
                email: &email,
                phone: phone.as_deref(),
                date_of_birth: date_of_birth.as_deref(),
                sms_consent: false,
                language: Language::En,
            };
            let patient = Patient::parse(input, today, &mut errors);
            let errors = errors.into_map();
            let keys: BTreeSet<&str> = errors.keys().map(String::as_str).collect();
            prop_assert_eq!(&keys, &refused);
            prop_assert!(errors.values().all(|message| !message.is_empty()));
            prop_assert_eq!(patient.is_some(), refused.is_empty());
            if let Some(patient) = patient {
                prop_assert_eq!(Ok(patient.name), own_name);
                prop_assert_eq!(Ok(patient.email), own_email);
                prop_assert_eq!(patient.phone.map(Ok), own_phone);
                prop_assert_eq!(patient.date_of_birth.map(Ok), own_date);
            }
        }
    }

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
