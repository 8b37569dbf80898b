-- Search's source of truth. Documents mirror resources (tombstoned, not
-- removed, on delete, so late events cannot resurrect them); sources are
-- the chunk sets of a resource body ('' file id) or of one file, with the
-- version they were made from; chunks carry their vectors as little-endian
-- float32 bytes.
CREATE TABLE search_documents (
    resource_id CHAR(36)     NOT NULL PRIMARY KEY,
    owner_id    VARCHAR(191) NOT NULL DEFAULT '',
    title       VARCHAR(300) NOT NULL DEFAULT '',
    visibility  VARCHAR(16)  NOT NULL DEFAULT 'private',
    tags        JSON         NOT NULL,
    metadata    JSON         NOT NULL,
    version     BIGINT       NOT NULL DEFAULT 0,
    updated_at  DATETIME(6)  NOT NULL,
    deleted     BOOLEAN      NOT NULL DEFAULT FALSE
);

CREATE TABLE search_sources (
    resource_id CHAR(36)    NOT NULL,
    file_id     VARCHAR(36) NOT NULL,
    version     BIGINT      NOT NULL,
    model       VARCHAR(191) NOT NULL,
    dimensions  INT         NOT NULL,
    deleted     BOOLEAN     NOT NULL DEFAULT FALSE,
    PRIMARY KEY (resource_id, file_id)
);

CREATE TABLE search_chunks (
    resource_id CHAR(36)    NOT NULL,
    file_id     VARCHAR(36) NOT NULL,
    chunk_id    VARCHAR(64) NOT NULL,
    seq         INT         NOT NULL,
    text        MEDIUMTEXT  NOT NULL,
    model       VARCHAR(191) NOT NULL,
    vector      MEDIUMBLOB  NOT NULL,
    PRIMARY KEY (resource_id, file_id, chunk_id)
);
