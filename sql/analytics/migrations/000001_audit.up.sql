-- The audit log: append-only and hash-chained (services/analytics/domain).
-- seq is the position in the chain, with no gaps; canonical is the event's
-- RFC 8785 JSON, exactly the bytes the hash covers; the other columns are
-- copies for filtering.
CREATE TABLE audit_log (
    seq         BIGINT      PRIMARY KEY,
    event_id    TEXT        NOT NULL UNIQUE,
    occurred_at TIMESTAMPTZ NOT NULL,
    actor       TEXT        NOT NULL,
    action      TEXT        NOT NULL,
    target      TEXT        NOT NULL,
    canonical   BYTEA       NOT NULL,
    hash        BYTEA       NOT NULL
);
CREATE INDEX audit_log_actor ON audit_log (actor, seq);
CREATE INDEX audit_log_action ON audit_log (action, seq);
CREATE INDEX audit_log_target ON audit_log (target, seq);
CREATE INDEX audit_log_time ON audit_log (occurred_at, seq);

-- Signed statements of the chain's head (Ed25519).
CREATE TABLE audit_checkpoints (
    seq       BIGINT      PRIMARY KEY,
    hash      BYTEA       NOT NULL,
    signed_at TIMESTAMPTZ NOT NULL,
    key_id    TEXT        NOT NULL,
    signature BYTEA       NOT NULL
);
