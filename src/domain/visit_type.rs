//! A visit type as an admin describes it: its name, how long the visit takes, the buffer the
//! provider needs after it, who may book it online, and which providers offer it. The bounds
//! here are the ones the migration's CHECKs and the OpenAPI document state.

use super::ids::ProviderId;
use super::provider::single_line;
use super::rules::{MAX_CANCEL_CUTOFF_HOURS, MAX_HORIZON_DAYS, MAX_MIN_NOTICE_MINUTES};
use super::{clean_text, FieldErrors};

pub const NAME_MAX_CHARS: usize = 80;
pub const DESCRIPTION_MAX_CHARS: usize = 500;
pub const MIN_DURATION_MINUTES: i32 = 5;
pub const MAX_DURATION_MINUTES: i32 = 480;
pub const MAX_BUFFER_MINUTES: i32 = 120;
/// Durations and buffers come in steps of this many minutes, the finest slot length a
/// schedule makes, so a visit always ends on a slot boundary of some schedule.
pub const MINUTE_STEP: i32 = 5;
/// The most providers one visit type names.
pub const MAX_PROVIDERS: usize = 200;

/// Validated changes to a visit type; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VisitTypeFields {
    pub name: Option<String>,
    pub description: Option<String>,
    pub duration_minutes: Option<i32>,
    pub buffer_minutes: Option<i32>,
    pub new_patients_online: Option<bool>,
    pub series_online: Option<bool>,
    pub active: Option<bool>,
    /// Booking rules of its own: `Some(None)` goes back to the clinic's.
    pub min_notice_minutes: Option<Option<i32>>,
    pub horizon_days: Option<Option<i32>>,
    pub cancel_cutoff_hours: Option<Option<i32>>,
    /// The providers who offer it (the whole list, replacing the old one).
    pub provider_ids: Option<Vec<ProviderId>>,
}

/// The unvalidated fields of a request.
#[derive(Debug, Clone, Copy, Default)]
pub struct VisitTypeInput<'a> {
    pub name: Option<&'a str>,
    pub description: Option<&'a str>,
    pub duration_minutes: Option<i64>,
    pub buffer_minutes: Option<i64>,
    pub new_patients_online: Option<bool>,
    pub series_online: Option<bool>,
    pub active: Option<bool>,
    pub min_notice_minutes: Option<Option<i64>>,
    pub horizon_days: Option<Option<i64>>,
    pub cancel_cutoff_hours: Option<Option<i64>>,
    pub provider_ids: Option<&'a [i64]>,
}

fn minutes(value: i64, least: i32, most: i32, what: &str) -> Result<i32, String> {
    let fits = i32::try_from(value)
        .ok()
        .filter(|m| (least..=most).contains(m) && m % MINUTE_STEP == 0);
    fits.ok_or_else(|| {
        format!("{what} must be a multiple of {MINUTE_STEP} between {least} and {most} minutes")
    })
}

/// A rule of the visit type's own, within `least..=most`, or `None` for the clinic's.
fn own_rule(
    value: Option<Option<i64>>,
    (least, most): (i64, i64),
    field: &str,
    errors: &mut FieldErrors,
) -> Option<Option<i32>> {
    match value? {
        None => Some(None),
        Some(v) => {
            let fits = (least..=most)
                .contains(&v)
                .then(|| i32::try_from(v).ok())
                .flatten();
            if fits.is_none() {
                errors.add(
                    field,
                    format!("{field} must be between {least} and {most}, or null"),
                );
            }
            fits.map(Some)
        }
    }
}

fn provider_ids(ids: &[i64]) -> Result<Vec<ProviderId>, String> {
    if ids.len() > MAX_PROVIDERS {
        return Err(format!("at most {MAX_PROVIDERS} providers"));
    }
    let mut parsed = ids
        .iter()
        .map(|&id| {
            ProviderId::try_from(id)
                .ok()
                .filter(|p| p.get() > 0)
                .ok_or_else(|| format!("{id} is not a provider id"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    parsed.sort_unstable();
    parsed.dedup();
    Ok(parsed)
}

impl VisitTypeFields {
    /// Parses the fields present; a new visit type (`creating`) needs a name and a duration.
    pub fn parse(input: VisitTypeInput<'_>, creating: bool, errors: &mut FieldErrors) -> Self {
        if creating {
            for (field, present) in [
                ("name", input.name.is_some()),
                ("duration_minutes", input.duration_minutes.is_some()),
            ] {
                if !present {
                    errors.add(field, format!("{field} is required"));
                }
            }
        }
        let (least, most) = (MIN_DURATION_MINUTES, MAX_DURATION_MINUTES);
        Self {
            name: input
                .name
                .and_then(|v| errors.check("name", single_line(v, NAME_MAX_CHARS, "name", false))),
            description: input.description.and_then(|v| {
                errors.check(
                    "description",
                    clean_text(v, DESCRIPTION_MAX_CHARS, "description"),
                )
            }),
            duration_minutes: input.duration_minutes.and_then(|v| {
                errors.check("duration_minutes", minutes(v, least, most, "duration"))
            }),
            buffer_minutes: input.buffer_minutes.and_then(|v| {
                errors.check(
                    "buffer_minutes",
                    minutes(v, 0, MAX_BUFFER_MINUTES, "buffer"),
                )
            }),
            new_patients_online: input.new_patients_online,
            series_online: input.series_online,
            active: input.active,
            min_notice_minutes: own_rule(
                input.min_notice_minutes,
                (0, MAX_MIN_NOTICE_MINUTES),
                "min_notice_minutes",
                errors,
            ),
            horizon_days: own_rule(
                input.horizon_days,
                (1, MAX_HORIZON_DAYS),
                "horizon_days",
                errors,
            ),
            cancel_cutoff_hours: own_rule(
                input.cancel_cutoff_hours,
                (0, MAX_CANCEL_CUTOFF_HOURS),
                "cancel_cutoff_hours",
                errors,
            ),
            provider_ids: input
                .provider_ids
                .and_then(|ids| errors.check("provider_ids", provider_ids(ids))),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: VisitTypeInput<'_>, creating: bool) -> (VisitTypeFields, Vec<String>) {
        let mut errors = FieldErrors::default();
        let fields = VisitTypeFields::parse(input, creating, &mut errors);
        (fields, errors.into_map().into_keys().collect())
    }

    #[test]
    fn a_new_visit_type_needs_a_name_and_a_duration() {
        let (_, errors) = parse(VisitTypeInput::default(), true);
        assert_eq!(errors, ["duration_minutes", "name"]);
        let (fields, errors) = parse(
            VisitTypeInput {
                name: Some(" New-patient evaluation "),
                duration_minutes: Some(60),
                buffer_minutes: Some(10),
                provider_ids: Some(&[3, 1, 3]),
                ..Default::default()
            },
            true,
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(fields.name.as_deref(), Some("New-patient evaluation"));
        assert_eq!(
            fields.provider_ids,
            Some(vec![ProviderId::new(1), ProviderId::new(3)])
        );
    }

    #[test]
    fn durations_and_buffers_are_bounded_steps_of_five_minutes() {
        for (duration, buffer, bad) in [
            (0, 0, vec!["duration_minutes"]),
            (481, 0, vec!["duration_minutes"]),
            (42, 0, vec!["duration_minutes"]),
            (30, 121, vec!["buffer_minutes"]),
            (30, -5, vec!["buffer_minutes"]),
            (i64::MAX, 0, vec!["duration_minutes"]),
            (5, 0, vec![]),
            (480, 120, vec![]),
        ] {
            let (_, errors) = parse(
                VisitTypeInput {
                    duration_minutes: Some(duration),
                    buffer_minutes: Some(buffer),
                    ..Default::default()
                },
                false,
            );
            assert_eq!(errors, bad, "{duration} + {buffer}");
        }
    }

    #[test]
    fn provider_ids_must_name_rows() {
        for ids in [&[0][..], &[-1], &[i64::from(i32::MAX) + 1]] {
            let (_, errors) = parse(
                VisitTypeInput {
                    provider_ids: Some(ids),
                    ..Default::default()
                },
                false,
            );
            assert_eq!(errors, ["provider_ids"], "{ids:?}");
        }
    }
}
