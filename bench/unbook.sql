-- Takes back the HTTP booking rows' bookings (their patients are bench-N@example.com): their
-- mail, the slots they hold and the bookings themselves, so the next rows book the same slots.
-- Plain SQL for both backends.
DELETE FROM outbox WHERE booking_id IN (SELECT id FROM bookings WHERE patient_email LIKE 'bench-%@example.com');
DELETE FROM booking_slots WHERE booking_id IN (SELECT id FROM bookings WHERE patient_email LIKE 'bench-%@example.com');
UPDATE slots SET status = 'free' WHERE id IN (SELECT slot_id FROM bookings WHERE patient_email LIKE 'bench-%@example.com');
DELETE FROM bookings WHERE patient_email LIKE 'bench-%@example.com';
