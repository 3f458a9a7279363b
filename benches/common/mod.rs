//! What both benches book with.

use chrono::Utc;
use clinic_booking::clinic::rules::BookingPolicy;
use clinic_booking::domain::patient::{Patient, PatientInput};
use clinic_booking::domain::FieldErrors;

/// The patient of the `n`th benchmark booking: each has an address of their own, as patients
/// do, so the booking rules' limit of upcoming visits per address never refuses one.
pub fn bench_patient(n: usize) -> anyhow::Result<Patient> {
    let mut errors = FieldErrors::default();
    let email = format!("bench-{n}@example.com");
    Patient::parse(
        PatientInput {
            name: "Bench Patient",
            email: &email,
            ..Default::default()
        },
        Utc::now().date_naive(),
        &mut errors,
    )
    .ok_or_else(|| anyhow::anyhow!("the bench patient is invalid: {errors:?}"))
}

/// The booking policy `serve` builds from `settings`.
pub fn booking_policy(settings: &clinic_booking::settings::Settings) -> BookingPolicy {
    BookingPolicy {
        rules: settings.booking.rules(),
        reminder_lead: chrono::Duration::hours(settings.mail.reminder_hours_before),
        text: settings.booking.policy_text.clone(),
        clinic_phone: settings.clinic.phone.clone(),
        hold: chrono::Duration::minutes(settings.booking.hold_minutes),
        offer: chrono::Duration::minutes(settings.waitlist.offer_minutes),
        texts: None,
    }
}
