DROP TABLE text_messages;
ALTER TABLE bookings DROP COLUMN sms_consent;
