-- Files attached to resources. The bytes live in the blob store under
-- blob_key; deleted_at starts the grace period after which the purge job
-- removes the blob and the row (docs/deletion.md).
CREATE TABLE resource_files (
    id           CHAR(36)     CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    resource_id  CHAR(36)     CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    name         VARCHAR(255) NOT NULL,
    content_type VARCHAR(100) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    size         BIGINT       NOT NULL,
    sha256       CHAR(64)     CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    blob_key     VARCHAR(200) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    created_at   DATETIME(6)  NOT NULL,
    deleted_at   DATETIME(6)  NULL,
    PRIMARY KEY (id),
    KEY resource_files_resource (resource_id, created_at),
    KEY resource_files_deleted (deleted_at)
) DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE INDEX resources_deleted ON resources (deleted_at);
