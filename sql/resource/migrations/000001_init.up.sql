-- Resource service schema. Portable across MariaDB 10.11 and TiDB 8.x (see
-- docs/tidb.md): ids are UUIDv7 strings made in Go, no RETURNING, no JSON
-- path operators, no reliance on SKIP LOCKED.
CREATE TABLE resources (
    id           CHAR(36)     CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    owner_id     CHAR(36)     CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    title        VARCHAR(300) NOT NULL,
    body         MEDIUMTEXT   NOT NULL,
    content_type VARCHAR(32)  NOT NULL,
    metadata     JSON         NOT NULL,
    tags         JSON         NOT NULL,
    visibility   VARCHAR(16)  NOT NULL,
    version      BIGINT       NOT NULL,
    created_at   DATETIME(6)  NOT NULL,
    updated_at   DATETIME(6)  NOT NULL,
    deleted_at   DATETIME(6)  NULL,
    PRIMARY KEY (id),
    KEY resources_created (created_at, id),
    KEY resources_updated (updated_at, id),
    KEY resources_owner_created (owner_id, created_at, id),
    CONSTRAINT resources_visibility CHECK (visibility IN ('private', 'internal', 'public')),
    CONSTRAINT resources_version CHECK (version >= 1)
) DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Tags and metadata pairs are also kept one per row so list filters use
-- indexes on both MariaDB and TiDB.
CREATE TABLE resource_tags (
    resource_id CHAR(36)    CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    tag         VARCHAR(64) NOT NULL,
    PRIMARY KEY (resource_id, tag),
    KEY resource_tags_tag (tag, resource_id)
) DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE resource_metadata (
    resource_id CHAR(36)      CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    meta_key    VARCHAR(64)   NOT NULL,
    meta_value  VARCHAR(1024) NOT NULL,
    PRIMARY KEY (resource_id, meta_key),
    KEY resource_metadata_pair (meta_key, meta_value(191), resource_id)
) DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Every state a resource has had, the current one included.
CREATE TABLE resource_versions (
    resource_id CHAR(36)    CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    version     BIGINT      NOT NULL,
    snapshot    JSON        NOT NULL,
    created_at  DATETIME(6) NOT NULL,
    PRIMARY KEY (resource_id, version)
) DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Idempotency-Key records: the first response to a key is replayed for
-- 24 hours to the same caller sending the same body.
CREATE TABLE idempotency_keys (
    caller_id     VARCHAR(100) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    idem_key      VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    request_hash  BINARY(32)   NOT NULL,
    status        INT          NOT NULL,
    response_body MEDIUMBLOB   NOT NULL,
    resource_id   CHAR(36)     CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    created_at    DATETIME(6)  NOT NULL,
    expires_at    DATETIME(6)  NOT NULL,
    PRIMARY KEY (caller_id, idem_key),
    KEY idempotency_expiry (expires_at)
);

-- Transactional outbox: events written with the change that caused them,
-- published to NATS JetStream by the relay.
CREATE TABLE outbox (
    seq        BIGINT       NOT NULL AUTO_INCREMENT,
    event_id   CHAR(36)     CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    subject    VARCHAR(200) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    payload    MEDIUMBLOB   NOT NULL,
    created_at DATETIME(6)  NOT NULL,
    sent_at    DATETIME(6)  NULL,
    PRIMARY KEY (seq),
    UNIQUE KEY outbox_event (event_id),
    KEY outbox_pending (sent_at, seq)
);
