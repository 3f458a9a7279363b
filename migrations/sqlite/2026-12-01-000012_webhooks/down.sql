-- Forward-only in practice (see README); kept for diesel's tooling.
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
