DELETE FROM audit_log WHERE entity_type IN ('patient', 'note');
ALTER TABLE audit_log DROP CONSTRAINT audit_log_entity_type_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_entity_type_check CHECK (entity_type IN
    ('booking', 'slot', 'provider', 'user', 'visit_type', 'location', 'time_off', 'series',
     'waitlist_entry', 'webhook_endpoint'));
DROP TABLE notes;
DROP INDEX bookings_by_patient;
ALTER TABLE bookings DROP COLUMN cancelled_at;
ALTER TABLE bookings DROP COLUMN patient_id;
DROP TABLE patient_search_terms;
DROP TABLE patients;
