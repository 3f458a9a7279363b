-- The call to action's short intake: where it hurts, how it began, and red flags that the
-- front desk reviews before the visit.
ALTER TABLE bookings ADD COLUMN concern_area TEXT;
ALTER TABLE bookings ADD COLUMN concern_onset TEXT;
-- Comma-separated: numbness, tingling, weakness, severe_pain.
ALTER TABLE bookings ADD COLUMN red_flags TEXT;
ALTER TABLE bookings ADD COLUMN needs_review BOOLEAN NOT NULL DEFAULT FALSE;
-- Attribution reports count bookings by source over a period.
CREATE INDEX bookings_by_created ON bookings (created_at, source);
