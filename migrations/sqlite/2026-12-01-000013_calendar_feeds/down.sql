ALTER TABLE users DROP COLUMN provider_id;
DROP TABLE calendar_feeds;
