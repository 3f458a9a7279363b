ALTER TABLE waitlist_entries DROP COLUMN language;
ALTER TABLE bookings DROP COLUMN language;
