-- The day sheet (one location's or the clinic's day, every provider) and FHIR's Appointment
-- searches by date read slots by start whatever their status: without an index on the start
-- alone, SQLite read every booking and PostgreSQL hashed them all (28 ms for a day of 240
-- bookings among 87,600 on SQLite; the console asks every 4 seconds). Issue 20.
CREATE INDEX slots_by_start ON slots (starts_at);
