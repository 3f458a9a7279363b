//! What both benches book with.

use chrono::Utc;
use clinic_booking::domain::patient::{Patient, PatientInput};
use clinic_booking::domain::FieldErrors;

/// The one patient every benchmark booking is made for.
pub fn bench_patient() -> anyhow::Result<Patient> {
    let mut errors = FieldErrors::default();
    Patient::parse(
        PatientInput {
            name: "Bench Patient",
            email: "bench@example.com",
            ..Default::default()
        },
        Utc::now().date_naive(),
        &mut errors,
    )
    .ok_or_else(|| anyhow::anyhow!("the bench patient is invalid: {errors:?}"))
}
