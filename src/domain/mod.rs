//! The clinic's vocabulary as types that can only hold valid values. Nothing here knows HTTP or
//! SQL: handlers parse requests into these, persistence stores them.

pub mod actor;
pub mod booking;
pub mod calendar;
pub mod feed;
pub mod hold;
pub mod ids;
pub mod intake;
pub mod language;
pub mod location;
pub mod patient;
pub mod provider;
pub mod rules;
pub mod schedule;
pub mod search;
pub mod series;
pub mod slot;
pub mod staff;
pub mod time_off;
pub mod visit_type;
pub mod waitlist;
pub mod webhook;

use std::collections::BTreeMap;

/// Validation failures keyed by the request field they concern (`patient.email`, ...).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<String, String>);

impl FieldErrors {
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.entry(field.into()).or_insert_with(|| message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn into_map(self) -> BTreeMap<String, String> {
        self.0
    }

    /// Records the error of `result` under `field` and returns its value, if any.
    pub fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(message) => {
                self.add(field, message);
                None
            }
        }
    }
}

/// Trims a text and rejects control characters; shared by every free-text field.
pub(crate) fn clean_text(value: &str, max_chars: usize, what: &str) -> Result<String, String> {
    let trimmed = value.trim();
    if trimmed.chars().count() > max_chars {
        return Err(format!("{what} must be at most {max_chars} characters"));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(format!("{what} must not contain control characters"));
    }
    Ok(trimmed.to_owned())
}
