CREATE TABLE audit_log_narrow (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    at TIMESTAMP NOT NULL,
    actor_kind TEXT NOT NULL CHECK (actor_kind IN ('staff', 'manage_token', 'public', 'command_line')),
    actor_user_id INTEGER REFERENCES users (id),
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    entity_type TEXT NOT NULL CHECK (entity_type IN ('booking', 'slot', 'provider', 'user')),
    entity_id TEXT NOT NULL,
    booking_reference TEXT,
    from_state TEXT,
    to_state TEXT
);
INSERT INTO audit_log_narrow
    SELECT * FROM audit_log WHERE entity_type IN ('booking', 'slot', 'provider', 'user');
DROP TABLE audit_log;
ALTER TABLE audit_log_narrow RENAME TO audit_log;
CREATE INDEX audit_log_by_at ON audit_log (at, id);
CREATE INDEX audit_log_by_reference ON audit_log (booking_reference, at);
CREATE INDEX audit_log_by_user ON audit_log (actor_user_id, at);
ALTER TABLE bookings DROP COLUMN ends_at;
ALTER TABLE bookings DROP COLUMN visit_type_id;
DROP INDEX bookings_by_patient_email;
DROP TABLE booking_slots;
DROP TABLE visit_type_providers;
DROP TABLE visit_types;
