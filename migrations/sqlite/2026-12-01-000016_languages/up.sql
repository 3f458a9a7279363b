-- The language a booking (and a waitlist entry) was made in: every mail and text about it is
-- written in it. No CHECK here: SQLite cannot drop a column that has one (down.sql); the app
-- refuses to read a value it does not know.
ALTER TABLE bookings ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
ALTER TABLE waitlist_entries ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
