-- Back to the waitlist's outbox and audit log (SQLite rebuilds a table to change its checks).
DELETE FROM outbox WHERE kind = 'webhook_disabled';
CREATE TABLE outbox_old (
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
INSERT INTO outbox_old (id, kind, booking_id, sequence, status, attempts, next_attempt_at,
    locked_until, claim_token, sent_at, last_error, created_at, waitlist_entry_id,
    waitlist_offer_id)
SELECT id, kind, booking_id, sequence, status, attempts, next_attempt_at, locked_until,
    claim_token, sent_at, last_error, created_at, waitlist_entry_id, waitlist_offer_id
FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_old RENAME TO outbox;
CREATE INDEX outbox_by_booking ON outbox (booking_id);
CREATE INDEX outbox_by_status ON outbox (status, created_at);
CREATE INDEX outbox_pending_due ON outbox (status, next_attempt_at);

DELETE FROM audit_log WHERE entity_type = 'webhook_endpoint';
CREATE TABLE audit_log_narrower (
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
INSERT INTO audit_log_narrower SELECT * FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_narrower RENAME TO audit_log;
CREATE INDEX audit_log_by_at ON audit_log (at, id);
CREATE INDEX audit_log_by_reference ON audit_log (booking_reference, at);
CREATE INDEX audit_log_by_user ON audit_log (actor_user_id, at);

DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
