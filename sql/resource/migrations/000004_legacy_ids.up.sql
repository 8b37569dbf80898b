-- Which resource or file an imported row of another system became
-- (lattice import, ADR 0021): a row whose legacy id is here is not imported
-- again, so an import is idempotent and resumes after a kill by running
-- again. Written in the same transaction as what the row became.
CREATE TABLE legacy_ids (
    kind        VARCHAR(32)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    legacy_id   VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    id          CHAR(36)     CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    imported_at DATETIME(6)  NOT NULL,
    PRIMARY KEY (kind, legacy_id)
);
