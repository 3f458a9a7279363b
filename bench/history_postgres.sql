-- Three years of history before the data set: the same providers' past slots, 80% of them
-- booked and completed, the rest left free (unbooked past slots).
BEGIN;
-- At the main location (the first server start made it): slots without one would be handed to
-- it at the next start, a million-row update that outlasts the bench's wait for the server.
INSERT INTO slots (provider_id, starts_at, ends_at, status, visit_type, created_at, location_id)
SELECT i,
       ((now() AT TIME ZONE 'utc')::date - n)::timestamp + (900 + 30 * j) * interval '1 minute',
       ((now() AT TIME ZONE 'utc')::date - n)::timestamp + (930 + 30 * j) * interval '1 minute',
       CASE WHEN (i + n + j) % 5 <> 0 THEN 'busy' ELSE 'free' END,
       NULL, ((now() AT TIME ZONE 'utc')::date - n - 30)::timestamp,
       (SELECT min(id) FROM locations)
FROM generate_series(1, 1095) n, generate_series(1, 50) i, generate_series(0, 15) j;
INSERT INTO bookings (reference, slot_id, patient_name, patient_email, source, status, created_at, updated_at, needs_review)
SELECT 'BK-H' || id, id, 'Patient ' || id, 'p' || id || '@example.com', 'website', 'completed', created_at, created_at, FALSE
FROM slots WHERE status = 'busy' AND starts_at < now() AT TIME ZONE 'utc';
COMMIT;
-- What autovacuum would do shortly after a bulk insert, done now so that it does not run
-- during the measurements.
VACUUM ANALYZE;
