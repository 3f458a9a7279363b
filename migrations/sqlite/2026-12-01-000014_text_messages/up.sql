-- Text messages: a patient who gives a mobile number and consents gets the confirmation, the
-- reminder and changes by SMS too, from an outbox of their own written in the transaction of
-- the change, like mail.
ALTER TABLE bookings ADD COLUMN sms_consent BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE text_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    booking_id INTEGER NOT NULL REFERENCES bookings (id),
    kind TEXT NOT NULL CHECK (kind IN ('confirmation', 'reminder', 'change', 'cancellation')),
    -- The patient's number in E.164, as the provider takes it.
    to_number TEXT NOT NULL,
    -- skipped: no longer applied when its turn came (a reminder for a cancelled visit).
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'skipped', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    locked_until TIMESTAMP,
    claim_token TEXT,
    sent_at TIMESTAMP,
    -- The provider's id for the message (Twilio's `sid`).
    provider_message_id TEXT,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX text_messages_due ON text_messages (status, next_attempt_at);
CREATE INDEX text_messages_by_booking ON text_messages (booking_id);
