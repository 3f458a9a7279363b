-- Three years of history before the data set: the same providers' past slots, 80% of them
-- booked and completed, the rest left free (unbooked past slots).
PRAGMA synchronous = OFF;
BEGIN;
WITH RECURSIVE
  d(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM d WHERE n < 1095),
  p(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM p WHERE i < 50),
  k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j < 15)
-- At the main location (the first server start made it): slots without one would be handed to
-- it at the next start, a million-row update that outlasts the bench's wait for the server.
INSERT INTO slots (provider_id, starts_at, ends_at, status, visit_type, created_at, location_id)
SELECT i,
       datetime(date('now', '-' || n || ' days'), '+' || (900 + 30 * j) || ' minutes'),
       datetime(date('now', '-' || n || ' days'), '+' || (930 + 30 * j) || ' minutes'),
       CASE WHEN (i + n + j) % 5 <> 0 THEN 'busy' ELSE 'free' END,
       NULL, datetime('now', '-' || n || ' days', '-30 days'),
       (SELECT min(id) FROM locations)
FROM d, p, k;
INSERT INTO bookings (reference, slot_id, patient_name, patient_email, source, status, created_at, updated_at, needs_review)
SELECT 'BK-H' || id, id, 'Patient ' || id, 'p' || id || '@example.com', 'website', 'completed', created_at, created_at, 0
FROM slots WHERE status = 'busy' AND starts_at < datetime('now');
COMMIT;
