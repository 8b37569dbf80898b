-- name: InsertResource :exec
INSERT INTO resources (id, owner_id, title, body, content_type, metadata, tags, visibility, version, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: ResourceByID :one
SELECT * FROM resources WHERE id = ? AND deleted_at IS NULL;

-- name: ResourceForUpdate :one
SELECT * FROM resources WHERE id = ? AND deleted_at IS NULL FOR UPDATE;

-- name: UpdateResource :exec
UPDATE resources
SET title = ?, body = ?, content_type = ?, metadata = ?, tags = ?, visibility = ?, version = ?, updated_at = ?
WHERE id = ?;

-- name: SoftDeleteResource :exec
UPDATE resources SET deleted_at = ?, version = version + 1 WHERE id = ?;

-- name: InsertVersion :exec
INSERT INTO resource_versions (resource_id, version, snapshot, created_at) VALUES (?, ?, ?, ?);

-- name: ListVersions :many
-- The join hides a deleted resource's history in the same read.
SELECT v.version, v.created_at FROM resource_versions v
JOIN resources r ON r.id = v.resource_id AND r.deleted_at IS NULL
WHERE v.resource_id = ? ORDER BY v.version DESC;

-- name: VersionSnapshot :one
SELECT v.snapshot FROM resource_versions v
JOIN resources r ON r.id = v.resource_id AND r.deleted_at IS NULL
WHERE v.resource_id = ? AND v.version = ?;

-- name: DeleteTags :exec
DELETE FROM resource_tags WHERE resource_id = ?;

-- name: DeleteMetadata :exec
DELETE FROM resource_metadata WHERE resource_id = ?;
