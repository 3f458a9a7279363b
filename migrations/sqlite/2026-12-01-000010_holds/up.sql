-- Holds: a time a patient picked is kept for them for a few minutes while they fill in the
-- form. The held slots carry the hold and its end; a slot is offered, and can be claimed, only
-- when it is free and not held (`held_until` empty or past), or by the booking that names the
-- hold. Expiry is that condition: nothing has to run when a hold ends.
CREATE TABLE holds (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    slot_id INTEGER NOT NULL REFERENCES slots (id),
    provider_id INTEGER NOT NULL REFERENCES providers (id),
    visit_type_id INTEGER REFERENCES visit_types (id),
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    released_at TIMESTAMP,
    booking_id INTEGER REFERENCES bookings (id),
    -- Who took it, as a keyed hash of their address (never the address): one client may keep
    -- only a few times at once.
    client_key TEXT
);
CREATE INDEX holds_by_client ON holds (client_key, expires_at);
-- (No REFERENCES: SQLite cannot drop a column that is part of a foreign key.)
ALTER TABLE slots ADD COLUMN hold_id INTEGER;
ALTER TABLE slots ADD COLUMN held_until TIMESTAMP;
-- Letting go of a hold finds its slots by it.
CREATE INDEX slots_by_hold ON slots (hold_id) WHERE hold_id IS NOT NULL;
