DROP INDEX slots_by_hold;
ALTER TABLE slots DROP COLUMN held_until;
ALTER TABLE slots DROP COLUMN hold_id;
DROP TABLE holds;
