//! Who makes a change: a patient without an account, the holder of a booking's manage token, a
//! logged-in staff member, or an operator at the server. Operations decide by it (patients may
//! not cancel a started visit; staff may) and the audit log names it.

use super::booking::BookingReference;
use super::ids::UserId;
use super::staff::StaffIdentity;

/// Who is making a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A patient booking without an account (the website, the call to action).
    Public,
    /// Whoever holds the manage token of this booking.
    ManageToken(BookingReference),
    /// A logged-in staff member.
    Staff(StaffIdentity),
    /// An operator at the server (`clinic-booking create-user`).
    CommandLine,
    /// The server itself: what happens when a hold or a waitlist offer runs out.
    System,
}

impl Actor {
    pub fn user_id(&self) -> Option<UserId> {
        match self {
            Self::Staff(staff) => Some(staff.user_id),
            _ => None,
        }
    }

    /// How the log names the actor.
    pub(crate) fn label(&self) -> String {
        match self {
            Self::Public => "public".into(),
            Self::ManageToken(reference) => format!("manage token of {reference}"),
            Self::Staff(staff) => format!("{} ({})", staff.email, staff.role),
            Self::CommandLine => "command line".into(),
            Self::System => "system".into(),
        }
    }

    pub(crate) fn is_staff(&self) -> bool {
        matches!(self, Self::Staff(_))
    }

    /// Staff, or the server acting for the clinic (a waitlist entry the front desk made, a move
    /// the clinic offered): may book visit types for returning patients and set the booking
    /// rules' timing aside with a reason, as staff do.
    pub(crate) fn acts_for_clinic(&self) -> bool {
        matches!(self, Self::Staff(_) | Self::System)
    }
}
