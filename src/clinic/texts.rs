//! Text messages about a booking: queued beside its mail, in the same transaction, when the
//! clinic sends texts (`sms.provider`), the patient consented and their number reads as a
//! number of the clinic's region or carries its country code. Nothing is queued otherwise.

use chrono::NaiveDateTime;

use super::rules::BookingPolicy;
use super::ClinicError;
use crate::db::bookings::Booking;
use crate::db::texts::{self, TextKind};
use crate::db::DbConnection;
use crate::domain::patient::PhoneNumber;

pub(crate) fn queue(
    conn: &mut DbConnection,
    policy: &BookingPolicy,
    booking: &Booking,
    kind: TextKind,
    due_at: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<(), ClinicError> {
    let Some(region) = &policy.texts else {
        return Ok(());
    };
    if !booking.sms_consent {
        return Ok(());
    }
    let Some(to) = booking
        .patient_phone
        .as_deref()
        .and_then(|phone| PhoneNumber::e164(phone, region))
    else {
        // The number stays out of the log; the booking's id says which.
        tracing::warn!(
            booking_id = booking.id.get(),
            "the patient's number is not one texts can reach; no text queued"
        );
        return Ok(());
    };
    texts::enqueue(conn, booking.id, kind, &to, due_at, now)?;
    Ok(())
}

/// Drops the booking's reminder text still waiting (the visit moved or was cancelled).
pub(crate) fn drop_pending_reminders(
    conn: &mut DbConnection,
    booking: &Booking,
) -> Result<(), ClinicError> {
    texts::drop_pending_reminders(conn, booking.id)?;
    Ok(())
}
