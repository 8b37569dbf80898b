DROP TABLE outbox;
DROP TABLE idempotency_keys;
DROP TABLE resource_versions;
DROP TABLE resource_metadata;
DROP TABLE resource_tags;
DROP TABLE resources;
