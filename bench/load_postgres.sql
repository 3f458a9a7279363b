-- The realistic data set, bulk-loaded: 50 providers x 365 days x 16 half-hour slots a day
-- (08:00-16:00 America/Phoenix = 15:00-23:00 UTC), starting tomorrow, 30% of them booked.
BEGIN;
INSERT INTO providers (id, name, title, specialty, bio, active, created_at, updated_at)
SELECT i, 'Provider ' || i, 'MD, Pain Medicine', 'Pain Medicine', '', TRUE, now() AT TIME ZONE 'utc', now() AT TIME ZONE 'utc'
FROM generate_series(1, 50) i;
SELECT setval(pg_get_serial_sequence('providers', 'id'), 50);
INSERT INTO slots (provider_id, starts_at, ends_at, status, visit_type, created_at)
SELECT i,
       ((now() AT TIME ZONE 'utc')::date + 1 + n)::timestamp + (900 + 30 * j) * interval '1 minute',
       ((now() AT TIME ZONE 'utc')::date + 1 + n)::timestamp + (930 + 30 * j) * interval '1 minute',
       CASE WHEN (i * 7 + n * 3 + j) % 10 < 3 THEN 'busy' ELSE 'free' END,
       NULL, date_trunc('second', now() AT TIME ZONE 'utc')
FROM generate_series(0, 364) n, generate_series(1, 50) i, generate_series(0, 15) j;
INSERT INTO bookings (reference, slot_id, patient_name, patient_email, source, status, created_at, updated_at, needs_review)
SELECT 'BK-F' || id, id, 'Patient ' || id, 'p' || id || '@example.com', 'website', 'booked', date_trunc('second', now() AT TIME ZONE 'utc'), date_trunc('second', now() AT TIME ZONE 'utc'), FALSE
FROM slots WHERE status = 'busy';
INSERT INTO booking_slots (slot_id, booking_id) SELECT slot_id, id FROM bookings;
-- A 60-minute visit type every provider offers: its availability needs two free half hours
-- back to back.
INSERT INTO visit_types (id, name, description, duration_minutes, buffer_minutes, new_patients_online, active, created_at, updated_at)
VALUES (1, 'New-patient evaluation', '', 60, 0, TRUE, TRUE, date_trunc('second', now() AT TIME ZONE 'utc'), date_trunc('second', now() AT TIME ZONE 'utc'));
SELECT setval(pg_get_serial_sequence('visit_types', 'id'), 1);
INSERT INTO visit_type_providers (visit_type_id, provider_id) SELECT 1, i FROM generate_series(1, 50) i;
COMMIT;
-- What autovacuum would do shortly after a bulk insert, done now so that it does not run
-- during the measurements.
VACUUM ANALYZE;
