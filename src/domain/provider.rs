//! A provider's public details as an admin enters them.

use super::{clean_text, FieldErrors};

const NAME_MAX_CHARS: usize = 100;
const TITLE_MAX_CHARS: usize = 100;
const SPECIALTY_MAX_CHARS: usize = 64;
const BIO_MAX_CHARS: usize = 2000;

pub(crate) fn single_line(
    value: &str,
    max: usize,
    what: &str,
    allow_empty: bool,
) -> Result<String, String> {
    let text = clean_text(value, max, what)?;
    if text.is_empty() && !allow_empty {
        return Err(format!("{what} must not be empty"));
    }
    if text.contains(['\n', '\r', '\t']) {
        return Err(format!("{what} must be a single line"));
    }
    Ok(text)
}

pub(crate) fn parse_name(value: &str) -> Result<String, String> {
    single_line(value, NAME_MAX_CHARS, "name", false)
}

pub(crate) fn parse_title(value: &str) -> Result<String, String> {
    single_line(value, TITLE_MAX_CHARS, "title", true)
}

pub(crate) fn parse_specialty(value: &str) -> Result<String, String> {
    single_line(value, SPECIALTY_MAX_CHARS, "specialty", false)
}

pub(crate) fn parse_bio(value: &str) -> Result<String, String> {
    clean_text(value, BIO_MAX_CHARS, "bio")
}

/// Validated changes to a provider; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderFields {
    pub name: Option<String>,
    pub title: Option<String>,
    pub specialty: Option<String>,
    pub bio: Option<String>,
    pub active: Option<bool>,
}

/// The unvalidated fields of a request.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProviderInput<'a> {
    pub name: Option<&'a str>,
    pub title: Option<&'a str>,
    pub specialty: Option<&'a str>,
    pub bio: Option<&'a str>,
    pub active: Option<bool>,
}

impl ProviderFields {
    /// Parses the fields present; a new provider (`creating`) needs a name and a specialty.
    pub fn parse(input: ProviderInput<'_>, creating: bool, errors: &mut FieldErrors) -> Self {
        if creating {
            for (field, value) in [("name", input.name), ("specialty", input.specialty)] {
                if value.is_none() {
                    errors.add(field, format!("{field} is required"));
                }
            }
        }
        Self {
            name: input.name.and_then(|v| errors.check("name", parse_name(v))),
            title: input
                .title
                .and_then(|v| errors.check("title", parse_title(v))),
            specialty: input
                .specialty
                .and_then(|v| errors.check("specialty", parse_specialty(v))),
            bio: input.bio.and_then(|v| errors.check("bio", parse_bio(v))),
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

    #[test]
    fn a_new_provider_needs_a_name_and_specialty() {
        let mut errors = FieldErrors::default();
        ProviderFields::parse(ProviderInput::default(), true, &mut errors);
        let map = errors.into_map();
        assert!(map.contains_key("name") && map.contains_key("specialty"));

        let mut errors = FieldErrors::default();
        let fields = ProviderFields::parse(
            ProviderInput {
                name: Some("  Dr. Ines Park "),
                specialty: Some("pain_medicine"),
                ..Default::default()
            },
            true,
            &mut errors,
        );
        assert!(errors.is_empty());
        assert_eq!(fields.name.as_deref(), Some("Dr. Ines Park"));
    }

    #[test]
    fn edits_are_checked_field_by_field() {
        let mut errors = FieldErrors::default();
        ProviderFields::parse(
            ProviderInput {
                name: Some(""),
                bio: Some(&"b".repeat(2001)),
                ..Default::default()
            },
            false,
            &mut errors,
        );
        let map = errors.into_map();
        assert!(map.contains_key("name") && map.contains_key("bio"));
    }
}
