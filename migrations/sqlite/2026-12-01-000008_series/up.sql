-- Courses of care: a series of visits of one visit type with one provider, on the same weekday
-- and local time every `interval_weeks`, booked all at once or not at all. Its bookings name it.
CREATE TABLE series (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    reference TEXT NOT NULL UNIQUE,
    visit_type_id INTEGER NOT NULL REFERENCES visit_types (id),
    provider_id INTEGER NOT NULL REFERENCES providers (id),
    visit_count INTEGER NOT NULL CHECK (visit_count BETWEEN 2 AND 12),
    interval_weeks INTEGER NOT NULL CHECK (interval_weeks BETWEEN 1 AND 4),
    created_at TIMESTAMP NOT NULL
);
-- (No REFERENCES: SQLite cannot drop a column that is part of a foreign key.)
ALTER TABLE bookings ADD COLUMN series_id INTEGER;
CREATE INDEX bookings_by_series ON bookings (series_id);
-- Whether patients may book a course of this visit type online (staff always may).
ALTER TABLE visit_types ADD COLUMN series_online BOOLEAN NOT NULL DEFAULT 0;
