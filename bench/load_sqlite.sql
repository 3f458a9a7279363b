-- The realistic data set, bulk-loaded: 50 providers x 365 days x 16 half-hour slots a day
-- (08:00-16:00 America/Phoenix = 15:00-23:00 UTC), starting tomorrow, 30% of them booked.
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
BEGIN;
WITH RECURSIVE p(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM p WHERE i < 50)
INSERT INTO providers (id, name, title, specialty, bio, active, created_at, updated_at)
SELECT i, 'Provider ' || i, 'MD, Pain Medicine', 'Pain Medicine', '', 1, datetime('now'), datetime('now') FROM p;
WITH RECURSIVE
  d(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM d WHERE n < 364),
  p(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM p WHERE i < 50),
  k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j < 15)
INSERT INTO slots (provider_id, starts_at, ends_at, status, visit_type, created_at)
SELECT i,
       datetime(date('now', '+1 day'), '+' || n || ' days', '+' || (900 + 30 * j) || ' minutes'),
       datetime(date('now', '+1 day'), '+' || n || ' days', '+' || (930 + 30 * j) || ' minutes'),
       CASE WHEN (i * 7 + n * 3 + j) % 10 < 3 THEN 'busy' ELSE 'free' END,
       NULL, datetime('now')
FROM d, p, k;
INSERT INTO bookings (reference, slot_id, patient_name, patient_email, source, status, created_at, updated_at, needs_review)
SELECT 'BK-F' || id, id, 'Patient ' || id, 'p' || id || '@example.com', 'website', 'booked', datetime('now'), datetime('now'), 0
FROM slots WHERE status = 'busy';
INSERT INTO booking_slots (slot_id, booking_id) SELECT slot_id, id FROM bookings;
-- A 60-minute visit type every provider offers: its availability needs two free half hours
-- back to back.
INSERT INTO visit_types (id, name, description, duration_minutes, buffer_minutes, new_patients_online, active, created_at, updated_at)
VALUES (1, 'New-patient evaluation', '', 60, 0, 1, 1, datetime('now'), datetime('now'));
WITH RECURSIVE p(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM p WHERE i < 50)
INSERT INTO visit_type_providers (visit_type_id, provider_id) SELECT 1, i FROM p;
COMMIT;
