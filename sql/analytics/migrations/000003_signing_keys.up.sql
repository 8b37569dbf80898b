-- Keys that sign audit checkpoints. Public keys are kept for ever so old
-- checkpoints verify after rotation; a private key is stored only when the
-- service generated it itself (no ANALYTICS_AUDIT_SIGNING_KEY configured).
CREATE TABLE audit_signing_keys (
    key_id      TEXT        PRIMARY KEY,
    public_key  BYTEA       NOT NULL,
    private_key BYTEA,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
