DELETE FROM audit_log WHERE entity_type IN ('patient', 'note');
CREATE TABLE audit_log_narrower (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    at TIMESTAMP NOT NULL,
    actor_kind TEXT NOT NULL CHECK (actor_kind IN
        ('staff', 'manage_token', 'public', 'command_line', 'system')),
    actor_user_id INTEGER REFERENCES users (id),
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    entity_type TEXT NOT NULL CHECK (entity_type IN ('booking', 'slot', 'provider', 'user',
        'visit_type', 'location', 'time_off', 'series', 'waitlist_entry', 'webhook_endpoint')),
    entity_id TEXT NOT NULL,
    booking_reference TEXT,
    from_state TEXT,
    to_state TEXT
);
INSERT INTO audit_log_narrower SELECT * FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_narrower RENAME TO audit_log;
CREATE INDEX audit_log_by_at ON audit_log (at, id);
CREATE INDEX audit_log_by_reference ON audit_log (booking_reference, at);
CREATE INDEX audit_log_by_user ON audit_log (actor_user_id, at);
DROP TABLE notes;
DROP INDEX bookings_by_patient;
ALTER TABLE bookings DROP COLUMN cancelled_at;
ALTER TABLE bookings DROP COLUMN patient_id;
DROP TABLE patient_search_terms;
DROP TABLE patients;
