-- Visit types: what a patient books (a new-patient evaluation, a follow-up, ...), how long it
-- takes, the buffer the provider needs after it, and who offers it. The rule columns override
-- the clinic's booking rules for this type when set.
CREATE TABLE visit_types (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    duration_minutes INTEGER NOT NULL CHECK (duration_minutes BETWEEN 5 AND 480),
    buffer_minutes INTEGER NOT NULL DEFAULT 0 CHECK (buffer_minutes BETWEEN 0 AND 120),
    new_patients_online BOOLEAN NOT NULL DEFAULT 1,
    active BOOLEAN NOT NULL DEFAULT 1,
    min_notice_minutes INTEGER,
    horizon_days INTEGER,
    cancel_cutoff_hours INTEGER,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE visit_type_providers (
    visit_type_id INTEGER NOT NULL REFERENCES visit_types (id),
    provider_id INTEGER NOT NULL REFERENCES providers (id),
    PRIMARY KEY (visit_type_id, provider_id)
);
CREATE INDEX visit_type_providers_by_provider ON visit_type_providers (provider_id);

-- The slots a booking holds. A visit longer than one slot holds the run of consecutive slots
-- it covers (its buffer included); the key makes a slot held by one booking at most, the last
-- line of defence against overlapping visits. Cancelling or moving a booking deletes its rows.
CREATE TABLE booking_slots (
    slot_id INTEGER PRIMARY KEY NOT NULL REFERENCES slots (id),
    booking_id INTEGER NOT NULL REFERENCES bookings (id)
);
CREATE INDEX booking_slots_by_booking ON booking_slots (booking_id);
INSERT INTO booking_slots (slot_id, booking_id)
    SELECT slot_id, id FROM bookings WHERE status <> 'cancelled';

-- The visit type booked (none for bookings made before visit types: one slot is the visit) and
-- when the visit ends (without its buffer), kept so that a later change of the type's duration
-- does not rewrite visits already booked.
-- (No REFERENCES here: SQLite cannot drop a column that is part of a foreign key, and the
-- down migration drops it.)
ALTER TABLE bookings ADD COLUMN visit_type_id INTEGER;
ALTER TABLE bookings ADD COLUMN ends_at TIMESTAMP;
-- Whether an address has visited before (visit types for returning patients), and how many
-- visits it has booked ahead (booking rules).
CREATE INDEX bookings_by_patient_email ON bookings (patient_email, status);
UPDATE bookings SET ends_at = (SELECT slots.ends_at FROM slots WHERE slots.id = bookings.slot_id);

-- The audit log names the new things scheduling changes: visit types now, and the locations,
-- time off and courses of care that build on them. SQLite cannot alter a CHECK constraint, so
-- the table is rebuilt with the wider one.
CREATE TABLE audit_log_wider (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    at TIMESTAMP NOT NULL,
    actor_kind TEXT NOT NULL CHECK (actor_kind IN ('staff', 'manage_token', 'public', 'command_line')),
    actor_user_id INTEGER REFERENCES users (id),
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    entity_type TEXT NOT NULL CHECK (entity_type IN
        ('booking', 'slot', 'provider', 'user', 'visit_type', 'location', 'time_off', 'series')),
    entity_id TEXT NOT NULL,
    booking_reference TEXT,
    from_state TEXT,
    to_state TEXT
);
INSERT INTO audit_log_wider SELECT * FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_wider RENAME TO audit_log;
CREATE INDEX audit_log_by_at ON audit_log (at, id);
CREATE INDEX audit_log_by_reference ON audit_log (booking_reference, at);
CREATE INDEX audit_log_by_user ON audit_log (actor_user_id, at);
