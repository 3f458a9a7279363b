-- The booking rules count a patient's upcoming visits by email address, case aside, on every
-- booking: without this index each booking would read the whole bookings table.
CREATE INDEX bookings_by_lower_patient_email ON bookings (lower(patient_email));
