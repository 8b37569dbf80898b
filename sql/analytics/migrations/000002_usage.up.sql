-- Gateway usage. Raw records are kept for the retention period (deleted
-- by time; request_id makes ingestion idempotent); reports read the
-- per-minute roll-ups, whose latency column is an encoded DDSketch that
-- merges into hours and days.
CREATE TABLE usage_raw (
    request_id TEXT             PRIMARY KEY,
    at         TIMESTAMPTZ      NOT NULL,
    route      TEXT             NOT NULL,
    method     TEXT             NOT NULL,
    path       TEXT             NOT NULL,
    status     INT              NOT NULL,
    latency_ms DOUBLE PRECISION NOT NULL,
    bytes_in   BIGINT           NOT NULL,
    bytes_out  BIGINT           NOT NULL,
    identity   TEXT             NOT NULL,
    client_id  TEXT             NOT NULL
);
CREATE INDEX usage_raw_at ON usage_raw (at);

CREATE TABLE usage_minute (
    minute       TIMESTAMPTZ NOT NULL,
    route        TEXT        NOT NULL,
    method       TEXT        NOT NULL,
    status_class SMALLINT    NOT NULL,
    identity     TEXT        NOT NULL,
    client_id    TEXT        NOT NULL,
    requests     BIGINT      NOT NULL,
    errors       BIGINT      NOT NULL,
    bytes_in     BIGINT      NOT NULL,
    bytes_out    BIGINT      NOT NULL,
    latency      BYTEA       NOT NULL,
    PRIMARY KEY (minute, route, method, status_class, identity, client_id)
);
CREATE INDEX usage_minute_identity ON usage_minute (identity, minute);
