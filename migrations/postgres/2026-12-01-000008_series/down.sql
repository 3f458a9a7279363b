ALTER TABLE visit_types DROP COLUMN series_online;
DROP INDEX bookings_by_series;
ALTER TABLE bookings DROP COLUMN series_id;
DROP TABLE series;
