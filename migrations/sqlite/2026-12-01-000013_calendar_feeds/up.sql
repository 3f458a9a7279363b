-- Each provider's calendar subscription (`/calendar/{token}.ics`): the token is a secret in a
-- URL, so only its SHA-256 is kept; rotating it replaces the row's hash.
CREATE TABLE calendar_feeds (
    provider_id INTEGER PRIMARY KEY NOT NULL REFERENCES providers (id),
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);

-- A staff account of the provider role may be a provider's own: it then manages that
-- provider's feed. (No REFERENCES here: SQLite drops a column only if no foreign key uses it,
-- and the down migration must; the app checks the provider exists.)
ALTER TABLE users ADD COLUMN provider_id INTEGER;
