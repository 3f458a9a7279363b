DROP INDEX bookings_by_patient_email;
