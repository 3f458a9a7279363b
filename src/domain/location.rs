//! A location as an admin describes it: its name, address, phone and the IANA time zone its
//! schedules are read in; and the time zone itself, a value that can only hold a zone chrono-tz
//! knows.

use chrono_tz::Tz;

use super::provider::single_line;
use super::FieldErrors;

pub const NAME_MAX_CHARS: usize = 100;
pub const ADDRESS_MAX_CHARS: usize = 200;
pub const PHONE_MAX_CHARS: usize = 40;
/// The longest IANA zone name is 32 characters (`America/Argentina/ComodRivadavia`).
pub const TIMEZONE_MAX_CHARS: usize = 40;

/// An IANA time zone (`America/Phoenix`), stored by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub struct TimeZone(Tz);

impl TimeZone {
    pub fn new(tz: Tz) -> Self {
        Self(tz)
    }

    /// The zone a name denotes, if chrono-tz knows it (case as the IANA database spells it).
    pub fn parse(name: &str) -> Option<Self> {
        name.parse::<Tz>().ok().map(Self)
    }

    pub fn as_str(self) -> &'static str {
        self.0.name()
    }

    pub fn tz(self) -> Tz {
        self.0
    }
}

/// Validated changes to a location; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocationFields {
    pub name: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub timezone: Option<TimeZone>,
    pub active: Option<bool>,
}

/// The unvalidated fields of a request.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocationInput<'a> {
    pub name: Option<&'a str>,
    pub address: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub timezone: Option<&'a str>,
    pub active: Option<bool>,
}

fn parse_timezone(value: &str) -> Result<TimeZone, String> {
    let value = value.trim();
    if value.chars().count() > TIMEZONE_MAX_CHARS {
        return Err(format!(
            "timezone must be at most {TIMEZONE_MAX_CHARS} characters"
        ));
    }
    TimeZone::parse(value)
        .ok_or_else(|| "timezone must be an IANA time zone name such as America/Phoenix".to_owned())
}

impl LocationFields {
    /// Parses the fields present; a new location (`creating`) needs a name and a time zone.
    pub fn parse(input: LocationInput<'_>, creating: bool, errors: &mut FieldErrors) -> Self {
        if creating {
            for (field, present) in [
                ("name", input.name.is_some()),
                ("timezone", input.timezone.is_some()),
            ] {
                if !present {
                    errors.add(field, format!("{field} is required"));
                }
            }
        }
        Self {
            name: input
                .name
                .and_then(|v| errors.check("name", single_line(v, NAME_MAX_CHARS, "name", false))),
            address: input.address.and_then(|v| {
                errors.check(
                    "address",
                    single_line(v, ADDRESS_MAX_CHARS, "address", true),
                )
            }),
            phone: input.phone.and_then(|v| {
                errors.check("phone", single_line(v, PHONE_MAX_CHARS, "phone", true))
            }),
            timezone: input
                .timezone
                .and_then(|v| errors.check("timezone", parse_timezone(v))),
            active: input.active,
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: LocationInput<'_>, creating: bool) -> (LocationFields, Vec<String>) {
        let mut errors = FieldErrors::default();
        let fields = LocationFields::parse(input, creating, &mut errors);
        (fields, errors.into_map().into_keys().collect())
    }

    #[test]
    fn a_new_location_needs_a_name_and_a_time_zone() {
        let (_, errors) = parse(LocationInput::default(), true);
        assert_eq!(errors, ["name", "timezone"]);
        let (fields, errors) = parse(
            LocationInput {
                name: Some(" Window Rock "),
                timezone: Some("America/Denver"),
                ..Default::default()
            },
            true,
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(fields.name.as_deref(), Some("Window Rock"));
        assert_eq!(
            fields.timezone.map(TimeZone::as_str),
            Some("America/Denver")
        );
    }

    #[test]
    fn only_iana_zone_names_are_time_zones() {
        for bad in [
            "Mars/Olympus_Mons",
            "",
            "-07:00",
            "america/phoenix",
            &"A".repeat(41),
        ] {
            let (_, errors) = parse(
                LocationInput {
                    timezone: Some(bad),
                    ..Default::default()
                },
                false,
            );
            assert_eq!(errors, ["timezone"], "{bad:?}");
        }
        assert_eq!(
            TimeZone::parse("America/Phoenix").map(TimeZone::tz),
            Some(chrono_tz::America::Phoenix)
        );
    }

    #[test]
    fn addresses_and_phones_are_single_lines() {
        let (_, errors) = parse(
            LocationInput {
                address: Some("1 Main St\nSuite 2"),
                phone: Some("555\t0134"),
                ..Default::default()
            },
            false,
        );
        assert_eq!(errors, ["address", "phone"]);
    }
}
