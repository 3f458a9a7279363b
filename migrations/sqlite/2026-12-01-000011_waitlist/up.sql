-- The waitlist: patients (or staff for them) ask for an earlier time than the open ones; when
-- time becomes free, matching entries are offered it in the order they joined, with a hold on
-- it for a few minutes and a link that books it. The links patients get (the entry's, the
-- verification's, an offer's) are signed tokens naming the entry or offer, like a booking's
-- manage link: nothing secret is stored.
CREATE TABLE waitlist_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    -- How staff and the patient's mails name the entry (`WL-…`).
    reference TEXT NOT NULL UNIQUE,
    -- unverified: waits for the link; waiting: counts; booked: an offer was taken; removed: left.
    status TEXT NOT NULL CHECK (status IN ('unverified', 'waiting', 'booked', 'removed')),
    visit_type_id INTEGER NOT NULL REFERENCES visit_types (id),
    provider_id INTEGER REFERENCES providers (id),
    location_id INTEGER REFERENCES locations (id),
    -- Local dates at the visit's location, both included.
    earliest_date DATE NOT NULL,
    latest_date DATE NOT NULL,
    -- Days of the week: bit 0 Monday ... bit 6 Sunday.
    weekdays INTEGER NOT NULL,
    -- Parts of the day: bit 0 morning (before noon), bit 1 afternoon (noon to 5 pm), bit 2
    -- evening (from 5 pm).
    day_parts INTEGER NOT NULL,
    -- "Move my existing booking earlier": the booking an accepted offer replaces.
    move_booking_id INTEGER REFERENCES bookings (id),
    patient_name TEXT NOT NULL,
    patient_email TEXT NOT NULL,
    patient_phone TEXT,
    -- website or front_desk
    source TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    verified_at TIMESTAMP,
    ended_at TIMESTAMP,
    -- The booking an accepted offer made.
    booking_id INTEGER REFERENCES bookings (id)
);
CREATE INDEX waitlist_entries_waiting ON waitlist_entries (status, created_at);
CREATE INDEX waitlist_entries_by_email ON waitlist_entries (lower(patient_email));

CREATE TABLE waitlist_offers (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    entry_id INTEGER NOT NULL REFERENCES waitlist_entries (id),
    hold_id INTEGER NOT NULL REFERENCES holds (id),
    -- The visit offered: its first slot, provider, start and end.
    slot_id INTEGER NOT NULL REFERENCES slots (id),
    provider_id INTEGER NOT NULL REFERENCES providers (id),
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('offered', 'accepted', 'declined', 'expired')),
    -- When the time the offer is for became free (a cancellation, ...): the metric of how long
    -- a freed time takes to be booked again starts there.
    freed_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    decided_at TIMESTAMP,
    booking_id INTEGER REFERENCES bookings (id)
);
-- One live offer per entry, whatever the code does.
CREATE UNIQUE INDEX waitlist_one_live_offer ON waitlist_offers (entry_id) WHERE status = 'offered';
CREATE INDEX waitlist_offers_by_entry ON waitlist_offers (entry_id, slot_id);
CREATE INDEX waitlist_offers_by_status ON waitlist_offers (status, starts_at);

-- A hold that expired is swept once: its time goes to the waitlist (and an offer's hold ends the
-- offer). Holds from before the waitlist count as swept.
ALTER TABLE holds ADD COLUMN swept_at TIMESTAMP;
UPDATE holds SET swept_at = created_at;
CREATE INDEX holds_unswept ON holds (expires_at)
    WHERE swept_at IS NULL AND released_at IS NULL AND booking_id IS NULL;

-- Waitlist mails are about an entry or an offer, not (only) a booking: the outbox gets their
-- columns, `booking_id` may be empty, and the kinds grow. SQLite changes a column's constraints
-- only by rebuilding the table.
CREATE TABLE outbox_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('confirmation', 'change', 'cancellation', 'reminder',
        'waitlist_verify', 'waitlist_joined', 'waitlist_offer', 'waitlist_accepted',
        'waitlist_expired')),
    booking_id INTEGER REFERENCES bookings (id),
    sequence INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    locked_until TIMESTAMP,
    claim_token TEXT,
    sent_at TIMESTAMP,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    waitlist_entry_id INTEGER REFERENCES waitlist_entries (id),
    waitlist_offer_id INTEGER REFERENCES waitlist_offers (id),
    CHECK (booking_id IS NOT NULL OR waitlist_entry_id IS NOT NULL)
);
INSERT INTO outbox_new (id, kind, booking_id, sequence, status, attempts, next_attempt_at,
    locked_until, claim_token, sent_at, last_error, created_at)
SELECT id, kind, booking_id, sequence, status, attempts, next_attempt_at, locked_until,
    claim_token, sent_at, last_error, created_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_by_booking ON outbox (booking_id);
CREATE INDEX outbox_by_status ON outbox (status, created_at);
CREATE INDEX outbox_pending_due ON outbox (status, next_attempt_at);

-- The audit log names waitlist entries, and the server itself as the actor of what happens when
-- a hold or an offer runs out.
CREATE TABLE audit_log_wider (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    at TIMESTAMP NOT NULL,
    actor_kind TEXT NOT NULL CHECK (actor_kind IN
        ('staff', 'manage_token', 'public', 'command_line', 'system')),
    actor_user_id INTEGER REFERENCES users (id),
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    entity_type TEXT NOT NULL CHECK (entity_type IN ('booking', 'slot', 'provider', 'user',
        'visit_type', 'location', 'time_off', 'series', 'waitlist_entry')),
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
