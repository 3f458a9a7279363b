//! The iCalendar (RFC 5545) invitation attached to booking mail: one stable UID per booking,
//! SEQUENCE rising with each change, `METHOD:CANCEL` when the visit is cancelled.

use chrono::{DateTime, Utc};
use icalendar::{Calendar, Component, Event, EventLike, EventStatus};

#[derive(Clone)]
pub(crate) struct Invitation<'a> {
    pub uid: String,
    pub sequence: u32,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub summary: &'a str,
    pub location: &'a str,
    pub description: &'a str,
    pub organizer_email: &'a str,
    pub organizer_name: &'a str,
    pub attendee_email: &'a str,
    pub cancelled: bool,
    pub stamp: DateTime<Utc>,
}

impl Invitation<'_> {
    /// The iTIP method, also named in the attachment's content type.
    pub(crate) fn method(&self) -> &'static str {
        if self.cancelled {
            "CANCEL"
        } else {
            "REQUEST"
        }
    }

    fn event(&self) -> Event {
        let mut event = Event::new();
        event
            .uid(&self.uid)
            .sequence(self.sequence)
            .timestamp(self.stamp)
            .starts(self.start)
            .ends(self.end)
            .summary(self.summary)
            .location(self.location)
            .description(self.description)
            .status(if self.cancelled {
                EventStatus::Cancelled
            } else {
                EventStatus::Confirmed
            })
            .add_property("ORGANIZER", format!("mailto:{}", self.organizer_email))
            .add_property("ATTENDEE", format!("mailto:{}", self.attendee_email));
        event.done()
    }

    pub(crate) fn to_ics(&self) -> String {
        calendar_of(std::slice::from_ref(self))
    }
}

/// One calendar holding each invitation's event (a course of care's visits in one attachment),
/// under the first one's method. Empty without invitations.
pub(crate) fn calendar_of(invitations: &[Invitation<'_>]) -> String {
    let Some(first) = invitations.first() else {
        return String::new();
    };
    let mut calendar = Calendar::new();
    calendar
        .append_property(("METHOD", first.method()))
        .name(first.organizer_name);
    for invitation in invitations {
        calendar.push(invitation.event());
    }
    calendar.done().to_string()
}
