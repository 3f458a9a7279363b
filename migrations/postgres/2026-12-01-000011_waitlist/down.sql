ALTER TABLE audit_log DROP CONSTRAINT audit_log_actor_kind_check;
DELETE FROM audit_log WHERE actor_kind = 'system' OR entity_type = 'waitlist_entry';
ALTER TABLE audit_log ADD CONSTRAINT audit_log_actor_kind_check CHECK (actor_kind IN
    ('staff', 'manage_token', 'public', 'command_line'));
ALTER TABLE audit_log DROP CONSTRAINT audit_log_entity_type_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_entity_type_check CHECK (entity_type IN
    ('booking', 'slot', 'provider', 'user', 'visit_type', 'location', 'time_off', 'series'));
DELETE FROM outbox WHERE booking_id IS NULL;
ALTER TABLE outbox DROP CONSTRAINT outbox_has_subject;
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
DELETE FROM outbox WHERE kind LIKE 'waitlist_%';
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
    CHECK (kind IN ('confirmation', 'change', 'cancellation', 'reminder'));
ALTER TABLE outbox DROP COLUMN waitlist_offer_id;
ALTER TABLE outbox DROP COLUMN waitlist_entry_id;
ALTER TABLE outbox ALTER COLUMN booking_id SET NOT NULL;
DROP INDEX holds_unswept;
ALTER TABLE holds DROP COLUMN swept_at;
DROP TABLE waitlist_offers;
DROP TABLE waitlist_entries;
