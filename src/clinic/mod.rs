//! The clinic's use cases: booking, cancelling and moving visits, the front desk's changes to
//! providers and slots, staff accounts, and the audit entry each change writes. Each operation
//! takes a connection (the caller chooses the transaction), the actor and the time, and answers
//! with domain rows or a `ClinicError`. The booking rules (`rules`) are checked by the booking
//! operations themselves, so no caller can skip them. Nothing here knows HTTP: `crate::error`
//! turns a `ClinicError` into a problem document, in one place.

pub mod accounts;
pub mod appointments;
pub(crate) mod audit;
pub(crate) mod calendar_feeds;
pub(crate) mod events;
pub(crate) mod front_desk;
pub(crate) mod holds;
pub mod locations;
pub mod notes;
pub(crate) mod offers;
pub(crate) mod openings;
pub mod patients;
pub mod privacy;
pub(crate) mod reports;
pub mod rules;
pub mod series;
pub(crate) mod texts;
pub(crate) mod time_off;
pub(crate) mod visit_types;
pub mod waitlist;
pub mod webhooks;

use chrono::NaiveDateTime;

use crate::db::slots::Slot;
use crate::domain::booking::BookingStatus;
use crate::domain::ids::{ProviderId, SlotId};
use crate::domain::slot::SlotStatus;
use crate::domain::FieldErrors;

/// Why an operation refused, in the clinic's words.
#[derive(Debug, thiserror::Error)]
pub enum ClinicError {
    /// No such thing (a slot, booking, provider, ...), named as the client knows it.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The slot cannot be booked now.
    #[error("slot {slot_id} is unavailable ({reason:?})")]
    SlotUnavailable {
        slot_id: SlotId,
        reason: Unavailable,
    },
    /// The booking's life cycle does not allow this step; `allowed` are the steps it does now.
    #[error("a {current} booking cannot be {wanted}")]
    InvalidTransition {
        current: BookingStatus,
        wanted: &'static str,
        allowed: Vec<BookingStatus>,
    },
    /// The life cycle allows this step, but not at this time (`rule` says when it does).
    #[error("not now: {rule}")]
    NotNow {
        current: BookingStatus,
        rule: &'static str,
        allowed: Vec<BookingStatus>,
    },
    /// A patient may not change a visit that has started; staff may.
    #[error("the visit has started and cannot be {0} online")]
    VisitStarted(&'static str),
    /// A conditional write found the row no longer as it was read.
    #[error("the {0} changed meanwhile")]
    ChangedMeanwhile(&'static str),
    /// No free time fits within the booking horizon; these later days still have room.
    #[error("no free time fits within {within_days} days")]
    NothingFits {
        within_days: i64,
        next_dates: Vec<chrono::NaiveDate>,
    },
    /// The visit type is for returning patients: booking it online needs an earlier visit.
    #[error("{0} is for returning patients")]
    ReturningPatientsOnly(String),
    /// Some visits of a requested course of care cannot be booked; nothing was.
    #[error("{} visits of the series do not fit", .0.len())]
    SeriesConflicts(Vec<series::Conflict>),
    /// Patients may not book a course of this visit type online.
    #[error("courses of {0} are booked by the clinic")]
    SeriesByStaffOnly(String),
    /// The client keeps as many times as one may at once (`holds::MAX_LIVE_PER_CLIENT`).
    #[error("{0} times are held already")]
    TooManyHolds(i64),
    /// A booking rule refuses the change (too soon, too far ahead, past the cut-off, or too
    /// many upcoming visits for one address).
    #[error("the booking rule {} refuses this", .0.rule.as_str())]
    BrokenRule(Box<rules::BrokenRule>),
    /// A new slot would overlap one the provider already has.
    #[error("the provider already has a slot overlapping this time")]
    Overlap { provider_id: ProviderId },
    /// Blocking or freeing a slot that a booking holds.
    #[error("the slot is booked")]
    SlotBooked,
    /// Time off would cover visits still booked; `bookings` are their references and starts.
    #[error("the time off covers {} booked visits", bookings.len())]
    TimeOffHitsBookings {
        bookings: Vec<(String, chrono::NaiveDateTime)>,
    },
    /// A waitlist offer can no longer be taken or declined: it stands `.0` now (taken, declined,
    /// or expired, its time gone to someone else).
    #[error("the offer is {}", .0.as_str())]
    OfferGone(crate::domain::waitlist::OfferStatus),
    /// A staff account with this address exists already.
    /// Erasing a patient who still has visits booked ahead (their references).
    #[error("the patient has {} upcoming visits", .0.len())]
    PatientHasUpcomingVisits(Vec<String>),
    #[error("a user with this email already exists")]
    DuplicateUser,
    /// Fields the operation itself finds invalid (beyond what parsing the request caught).
    #[error("invalid fields")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Why a slot cannot be booked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// It starts now or started earlier.
    Started,
    /// Staff blocked it (or its provider is inactive).
    Blocked,
    /// Someone else holds it.
    Taken,
    /// It is kept for another patient who is filling in the form (a hold); it is open again
    /// when they book another time, let it go, or the hold expires.
    Held,
    /// The visit would run past the provider's time: into another booking, a block, a break or
    /// the end of the day.
    DoesNotFit,
}

/// Why `slot` cannot be booked (or held) now, as the refusal says it: started, blocked (or its
/// provider inactive), held for another patient, or taken.
pub(crate) fn slot_unavailable(
    slot: &Slot,
    provider_active: bool,
    now: NaiveDateTime,
) -> ClinicError {
    let reason = if slot.starts_at <= now {
        Unavailable::Started
    } else if slot.status == SlotStatus::Blocked || !provider_active {
        Unavailable::Blocked
    } else if slot.status == SlotStatus::Free && slot.held_until.is_some_and(|until| until > now) {
        Unavailable::Held
    } else {
        Unavailable::Taken
    };
    ClinicError::SlotUnavailable {
        slot_id: slot.id,
        reason,
    }
}

impl ClinicError {
    /// A 422-style refusal of one field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        let mut errors = FieldErrors::default();
        errors.add(field, message);
        Self::Invalid(errors)
    }
}
