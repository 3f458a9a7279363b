-- The transactional outbox: every email a booking change causes is a row written in the same
-- transaction as the change, and a worker delivers it. Rows are claimed with a lease
-- (`locked_until`, `claim_token`) so a crashed worker's jobs are picked up again.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('confirmation', 'change', 'cancellation', 'reminder')),
    booking_id INTEGER NOT NULL REFERENCES bookings (id),
    -- The iCalendar SEQUENCE of the booking when the job was written.
    sequence INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    locked_until TIMESTAMP,
    claim_token TEXT,
    sent_at TIMESTAMP,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_by_booking ON outbox (booking_id);
CREATE INDEX outbox_by_status ON outbox (status, created_at);
