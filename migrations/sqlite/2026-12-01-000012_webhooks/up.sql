-- Webhooks (Standard Webhooks): endpoints an admin registers, and the deliveries of each event
-- to each endpoint that wants it, written in the transaction of the change like mail.
CREATE TABLE webhook_endpoints (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    url TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    -- The event types it receives, comma-separated (e.g. `booking.created,booking.cancelled`).
    event_types TEXT NOT NULL,
    -- Deliveries carry the patient's name, email and phone only when this is on.
    include_patient_data BOOLEAN NOT NULL DEFAULT FALSE,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    -- The signing secret (`whsec_` and base64): HMAC needs it as it is, so it is stored as it is
    -- and shown once, at creation and at rotation. The previous one signs too until it expires.
    secret TEXT NOT NULL,
    previous_secret TEXT,
    previous_secret_until TIMESTAMP,
    -- Since when every delivery has failed (none since the last success); a day of that
    -- disables the endpoint.
    failing_since TIMESTAMP,
    disabled_reason TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    endpoint_id INTEGER NOT NULL REFERENCES webhook_endpoints (id),
    -- The event's id (`webhook-id`, `msg_…`): one per event, the same for every endpoint and
    -- every attempt, so a receiver can drop a repeat.
    message_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    -- What the event is about (a booking, waitlist entry or course reference): one subject's
    -- deliveries to one endpoint go out in order.
    subject TEXT NOT NULL,
    booking_id INTEGER REFERENCES bookings (id),
    -- The event as sent, without patient data (added at delivery for endpoints that want it).
    payload TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    locked_until TIMESTAMP,
    claim_token TEXT,
    last_status_code INTEGER,
    last_error TEXT,
    delivered_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (endpoint_id, message_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_by_subject ON webhook_deliveries (endpoint_id, subject, id);
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, id);

-- The admins are mailed when an endpoint is disabled for failing a day: a mail about an
-- endpoint, not a booking. SQLite changes a column's constraints only by rebuilding the table.
CREATE TABLE outbox_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('confirmation', 'change', 'cancellation', 'reminder',
        'waitlist_verify', 'waitlist_joined', 'waitlist_offer', 'waitlist_accepted',
        'waitlist_expired', 'webhook_disabled')),
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
    webhook_endpoint_id INTEGER REFERENCES webhook_endpoints (id),
    CHECK (booking_id IS NOT NULL OR waitlist_entry_id IS NOT NULL
        OR webhook_endpoint_id IS NOT NULL)
);
INSERT INTO outbox_new (id, kind, booking_id, sequence, status, attempts, next_attempt_at,
    locked_until, claim_token, sent_at, last_error, created_at, waitlist_entry_id,
    waitlist_offer_id)
SELECT id, kind, booking_id, sequence, status, attempts, next_attempt_at, locked_until,
    claim_token, sent_at, last_error, created_at, waitlist_entry_id, waitlist_offer_id
FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_by_booking ON outbox (booking_id);
CREATE INDEX outbox_by_status ON outbox (status, created_at);
CREATE INDEX outbox_pending_due ON outbox (status, next_attempt_at);

-- The audit log names webhook endpoints (created, changed, rotated, deleted, disabled).
CREATE TABLE audit_log_wider (
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
INSERT INTO audit_log_wider SELECT * FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_wider RENAME TO audit_log;
CREATE INDEX audit_log_by_at ON audit_log (at, id);
CREATE INDEX audit_log_by_reference ON audit_log (booking_reference, at);
CREATE INDEX audit_log_by_user ON audit_log (actor_user_id, at);
