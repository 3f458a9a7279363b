DROP INDEX bookings_by_created;
ALTER TABLE bookings DROP COLUMN needs_review;
ALTER TABLE bookings DROP COLUMN red_flags;
ALTER TABLE bookings DROP COLUMN concern_onset;
ALTER TABLE bookings DROP COLUMN concern_area;
