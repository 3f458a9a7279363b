DELETE FROM audit_log WHERE entity_type IN ('location', 'time_off');
ALTER TABLE bookings DROP COLUMN cancel_reason;
DROP INDEX time_off_slots_by_slot;
DROP TABLE time_off_slots;
DROP INDEX time_off_by_provider;
DROP TABLE time_off;
ALTER TABLE slots DROP COLUMN location_id;
DROP TABLE locations;
