-- Locations: the places a clinic group sees patients, each in its own time zone (an IANA name,
-- checked by the application). The first start after this migration makes the clinic's
-- configured address the main location and assigns it every slot made before (the settings are
-- not readable from SQL).
CREATE TABLE locations (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL UNIQUE,
    address TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    timezone TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Where a slot's time is spent. NULL only for slots from before locations (until the next
-- start fills them in) and for slots an older copy writes during a rolling deploy: both mean
-- the main location, the one with the lowest id.
-- (No REFERENCES here: SQLite cannot drop a column that is part of a foreign key, and the
-- down migration drops it.)
ALTER TABLE slots ADD COLUMN location_id INTEGER;

-- A provider's time off (vacation, a conference): the range, why, and who entered it.
CREATE TABLE time_off (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    provider_id INTEGER NOT NULL REFERENCES providers (id),
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    reason TEXT NOT NULL,
    created_by INTEGER REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    CHECK (ends_at > starts_at)
);
CREATE INDEX time_off_by_provider ON time_off (provider_id, starts_at);

-- The slots each time off blocked (or found blocked by another time off), so that removing it
-- frees those and never a slot staff blocked for another reason. A slot covered by two time
-- offs stays blocked until both are gone.
CREATE TABLE time_off_slots (
    time_off_id INTEGER NOT NULL REFERENCES time_off (id),
    slot_id INTEGER NOT NULL REFERENCES slots (id),
    PRIMARY KEY (time_off_id, slot_id)
);
CREATE INDEX time_off_slots_by_slot ON time_off_slots (slot_id);

-- Why the clinic cancelled a visit (e.g. the provider's time off), for the cancellation mail the
-- outbox worker renders later. Patient-facing text: never logged.
ALTER TABLE bookings ADD COLUMN cancel_reason TEXT;
