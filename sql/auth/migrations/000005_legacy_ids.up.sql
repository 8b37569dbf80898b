-- Which user an imported row of another system became (lattice import):
-- a row whose legacy id is here is not imported again, which makes an
-- import idempotent and resumable, and a migrated session's subject can be
-- mapped to its Lattice user.
CREATE TABLE legacy_ids (
    kind        text NOT NULL,
    legacy_id   text NOT NULL,
    id          uuid NOT NULL,
    imported_at timestamptz NOT NULL,
    PRIMARY KEY (kind, legacy_id)
);
