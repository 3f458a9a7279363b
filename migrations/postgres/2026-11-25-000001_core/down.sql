DROP TABLE idempotency_keys;
DROP TABLE bookings;
DROP TABLE slots;
DROP TABLE providers;
