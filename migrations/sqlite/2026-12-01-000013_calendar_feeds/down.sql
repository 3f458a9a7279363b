-- Forward-only in practice; kept for diesel's tooling.
DROP TABLE calendar_feeds;
