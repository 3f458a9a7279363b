DELETE FROM audit_log WHERE entity_type = 'webhook_endpoint';
ALTER TABLE audit_log DROP CONSTRAINT audit_log_entity_type_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_entity_type_check CHECK (entity_type IN
    ('booking', 'slot', 'provider', 'user', 'visit_type', 'location', 'time_off', 'series',
     'waitlist_entry'));
DELETE FROM outbox WHERE kind = 'webhook_disabled';
ALTER TABLE outbox DROP CONSTRAINT outbox_has_subject;
ALTER TABLE outbox ADD CONSTRAINT outbox_has_subject
    CHECK (booking_id IS NOT NULL OR waitlist_entry_id IS NOT NULL);
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check CHECK (kind IN ('confirmation', 'change',
    'cancellation', 'reminder', 'waitlist_verify', 'waitlist_joined', 'waitlist_offer',
    'waitlist_accepted', 'waitlist_expired'));
ALTER TABLE outbox DROP COLUMN webhook_endpoint_id;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
