DROP INDEX text_messages_by_booking;
DROP INDEX text_messages_due;
DROP TABLE text_messages;
ALTER TABLE bookings DROP COLUMN sms_consent;
