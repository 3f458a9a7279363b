//! The booking rules, enforced in one place. Every use case that makes, cancels or moves a
//! booking asks here before it writes (`appointments::book`, `cancel`, `reschedule`, and
//! through them the call to action, the front desk's status change, the booking page and the
//! widget), so an entry point added later inherits the rules by calling those.
//!
//! Patients are always held to the rules. Staff are too, unless the change carries a
//! `RuleOverride` (a reason), which sets aside the notice, the horizon and the cut-off, never
//! the number of upcoming visits per address; the change's audit entry records the reason and
//! the rules it set aside.

use chrono::{Duration, NaiveDateTime};
use serde_json::{json, Value};

use super::ClinicError;
use crate::db::bookings;
use crate::db::slots::Slot;
use crate::db::visit_types::VisitType;
use crate::db::DbConnection;
use crate::domain::actor::Actor;
use crate::domain::ids::SeriesId;
use crate::domain::patient::EmailAddress;
use crate::domain::rules::{BookingRules, Rule, RuleOverride};

/// What the clinic's settings say about bookings, built once at startup: the rules, what
/// patients read about them, and when reminders go out.
#[derive(Debug, Clone)]
pub struct BookingPolicy {
    /// The clinic's rules (a visit type may override some: see `rules_for`).
    pub rules: BookingRules,
    /// How long before a visit its reminder goes out.
    pub reminder_lead: Duration,
    /// The clinic's words on its rules, shown before a patient books and in every refusal.
    pub text: String,
    /// Where patients call when the rules stop them online.
    pub clinic_phone: String,
    /// How long a hold keeps a time (`clinic::holds`).
    pub hold: Duration,
    /// How long a waitlist offer keeps its time for the patient (`clinic::waitlist`).
    pub offer: Duration,
    /// The region patients' numbers are read in when the clinic sends text messages; `None`
    /// when it does not (then none is queued).
    pub texts: Option<String>,
}

/// A change a rule refused: which rule, the rules in force for that visit, and what the
/// patient is told.
#[derive(Debug, Clone)]
pub struct BrokenRule {
    pub rule: Rule,
    pub rules: BookingRules,
    pub policy_text: String,
    pub clinic_phone: String,
}

/// A change the rules let through, and the staff override that let it through, if any: the
/// change's audit entry records it (`noted`).
#[must_use]
#[derive(Debug, Default)]
pub(crate) struct Allowed<'a> {
    overridden: Option<(&'a RuleOverride, Vec<Rule>)>,
}

impl Allowed<'_> {
    /// `entry`, the audit record of the change, with the override added when there was one:
    /// its reason and the rules it set aside (none, when the change broke no rule).
    pub(crate) fn noted(&self, mut entry: Value) -> Value {
        if let (Some((overriding, rules)), Value::Object(fields)) = (&self.overridden, &mut entry) {
            let names: Vec<&str> = rules.iter().map(|r| r.as_str()).collect();
            fields.insert(
                "override".into(),
                json!({"reason": overriding.reason(), "rules": names}),
            );
        }
        entry
    }
}

/// The rules for a visit of `visit_type` (none: the clinic's): the clinic's, with whatever the
/// visit type overrides. Every check below takes its rules from here.
pub(crate) fn rules_for(policy: &BookingPolicy, visit_type: Option<&VisitType>) -> BookingRules {
    match visit_type {
        Some(visit_type) => policy.rules.with(&visit_type.rule_overrides()),
        None => policy.rules,
    }
}

/// Where a visit (of `visit_type`, or any) booked at `now` may start under its rules: the call
/// to action looks for free times there, and the free-slot lists show patients only those.
pub(crate) fn bookable_window(
    policy: &BookingPolicy,
    visit_type: Option<&VisitType>,
    now: NaiveDateTime,
) -> (NaiveDateTime, NaiveDateTime) {
    rules_for(policy, visit_type).bookable_window(now)
}

/// A visit as the rules see it: its (first) slot and its visit type, if any.
pub(crate) type Visit<'v> = (&'v Slot, Option<&'v VisitType>);

/// A new booking of `slot` for `email`: notice, horizon and the number of upcoming visits the
/// address holds. Call it in the booking's write transaction: on PostgreSQL it holds the
/// address's bookings back until that transaction ends, so two at once cannot both fit under
/// the limit.
pub(crate) fn check_booking<'a>(
    conn: &mut DbConnection,
    policy: &BookingPolicy,
    (slot, visit_type): Visit<'_>,
    (email, series): (&EmailAddress, Option<SeriesId>),
    actor: &Actor,
    overriding: Option<&'a RuleOverride>,
    now: NaiveDateTime,
) -> Result<Allowed<'a>, ClinicError> {
    refuse_override_by_patients(actor, overriding)?;
    // A slot that has started cannot be claimed at all; the claim says so, which tells the
    // patient more than "too short notice" would.
    if slot.starts_at <= now {
        return Ok(Allowed::default());
    }
    let rules = rules_for(policy, visit_type);
    let mut broken: Vec<(Rule, BookingRules)> = Vec::new();
    broken.extend(rules.check_start(slot.starts_at, now).map(|r| (r, rules)));
    bookings::lock_patient_email(conn, email.as_str())?;
    let upcoming = bookings::count_upcoming_for_email(conn, email.as_str(), series, now)?;
    broken.extend(rules.check_active(upcoming).map(|r| (r, rules)));
    decide(policy, overriding, broken)
}

/// Keeping `slot` for a patient while they fill in the form: the notice and the horizon, as for
/// booking it, for everyone (a hold sets no rule aside). The number of visits an address holds
/// is checked when the hold is booked: a hold names no one.
pub(crate) fn check_hold(
    policy: &BookingPolicy,
    (slot, visit_type): Visit<'_>,
    now: NaiveDateTime,
) -> Result<(), ClinicError> {
    // As for a booking: a slot that has started is the keeping's to refuse.
    if slot.starts_at <= now {
        return Ok(());
    }
    let rules = rules_for(policy, visit_type);
    let broken = rules.check_start(slot.starts_at, now).map(|r| (r, rules));
    decide(policy, None, broken.into_iter().collect()).map(|_| ())
}

/// Cancelling the visit in `slot`: the cut-off.
pub(crate) fn check_cancel<'a>(
    policy: &BookingPolicy,
    (slot, visit_type): Visit<'_>,
    actor: &Actor,
    overriding: Option<&'a RuleOverride>,
    now: NaiveDateTime,
) -> Result<Allowed<'a>, ClinicError> {
    refuse_override_by_patients(actor, overriding)?;
    let rules = rules_for(policy, visit_type);
    let broken = rules.check_change(slot.starts_at, now).map(|r| (r, rules));
    decide(policy, overriding, broken.into_iter().collect())
}

/// Moving the visit in `from` to `to`: the cut-off of the visit as booked, and the notice and
/// horizon of the new time.
pub(crate) fn check_move<'a>(
    policy: &BookingPolicy,
    (from, to): (&Slot, &Slot),
    visit_type: Option<&VisitType>,
    actor: &Actor,
    overriding: Option<&'a RuleOverride>,
    now: NaiveDateTime,
) -> Result<Allowed<'a>, ClinicError> {
    refuse_override_by_patients(actor, overriding)?;
    // The visit keeps its type when it moves: one set of rules for both times.
    let (old, new) = (rules_for(policy, visit_type), rules_for(policy, visit_type));
    let mut broken: Vec<(Rule, BookingRules)> = Vec::new();
    broken.extend(old.check_change(from.starts_at, now).map(|r| (r, old)));
    // As for a booking: a new time that has started is the claim's to refuse.
    if to.starts_at > now {
        broken.extend(new.check_start(to.starts_at, now).map(|r| (r, new)));
    }
    decide(policy, overriding, broken)
}

/// Only staff may set the rules aside; a patient's request that tries is refused whatever it
/// asks for, rather than quietly held to the rules.
fn refuse_override_by_patients(
    actor: &Actor,
    overriding: Option<&RuleOverride>,
) -> Result<(), ClinicError> {
    if overriding.is_some() && !actor.acts_for_clinic() {
        return Err(ClinicError::invalid(
            "override",
            "only staff may set the booking rules aside; leave `override` out",
        ));
    }
    Ok(())
}

/// The first broken rule the override (if any) does not cover refuses the change.
fn decide<'a>(
    policy: &BookingPolicy,
    overriding: Option<&'a RuleOverride>,
    broken: Vec<(Rule, BookingRules)>,
) -> Result<Allowed<'a>, ClinicError> {
    let refusing = broken
        .iter()
        .find(|(rule, _)| overriding.is_none() || !rule.overridable());
    if let Some(&(rule, rules)) = refusing {
        return Err(ClinicError::BrokenRule(Box::new(BrokenRule {
            rule,
            rules,
            policy_text: policy.text.clone(),
            clinic_phone: policy.clinic_phone.clone(),
        })));
    }
    Ok(Allowed {
        overridden: overriding.map(|o| (o, broken.into_iter().map(|(r, _)| r).collect())),
    })
}
