-- The worker's claim (`status = $1 AND next_attempt_at <= $2 ORDER BY next_attempt_at, id`)
-- binds the status as a parameter, so neither planner can use the partial index on
-- next_attempt_at WHERE status = 'pending'; SQLite scanned every pending job (reminders for
-- visits months ahead included) and sorted them on each claim. This index serves the claim as a
-- range scan in claim order.
CREATE INDEX outbox_pending_due ON outbox (status, next_attempt_at);
DROP INDEX outbox_due;
