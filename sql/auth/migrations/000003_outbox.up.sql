-- The auth service's transactional outbox: audit events (stream AUDIT) are
-- written in the same transaction as the change they report, and the relay
-- publishes them (pkg/outbox).
CREATE TABLE outbox (
    seq        BIGSERIAL   PRIMARY KEY,
    event_id   UUID        NOT NULL,
    subject    TEXT        NOT NULL,
    payload    BYTEA       NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    sent_at    TIMESTAMPTZ
);
CREATE INDEX outbox_unsent ON outbox (seq) WHERE sent_at IS NULL;
CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;
