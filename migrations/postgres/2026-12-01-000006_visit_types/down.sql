DELETE FROM audit_log WHERE entity_type NOT IN ('booking', 'slot', 'provider', 'user');
ALTER TABLE audit_log DROP CONSTRAINT audit_log_entity_type_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_entity_type_check
    CHECK (entity_type IN ('booking', 'slot', 'provider', 'user'));
ALTER TABLE bookings DROP COLUMN ends_at;
ALTER TABLE bookings DROP COLUMN visit_type_id;
DROP INDEX bookings_by_patient_email;
DROP TABLE booking_slots;
DROP TABLE visit_type_providers;
DROP TABLE visit_types;
