-- name: InsertFile :exec
INSERT INTO resource_files (id, resource_id, name, content_type, size, sha256, blob_key, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?);

-- name: ListFiles :many
SELECT * FROM resource_files WHERE resource_id = ? AND deleted_at IS NULL ORDER BY created_at, id;

-- name: FileByID :one
SELECT * FROM resource_files WHERE id = ? AND resource_id = ? AND deleted_at IS NULL;

-- name: SoftDeleteFile :exec
UPDATE resource_files SET deleted_at = ? WHERE id = ?;

-- name: PurgeableFiles :many
-- Files deleted before the cut-off, or belonging to resources deleted
-- before it.
SELECT f.* FROM resource_files f
WHERE f.deleted_at < sqlc.arg(before)
   OR f.resource_id IN (SELECT r.id FROM resources r WHERE r.deleted_at < sqlc.arg(before))
ORDER BY f.id
LIMIT ?;

-- name: HardDeleteFiles :exec
DELETE FROM resource_files WHERE id IN (sqlc.slice(ids));

-- name: PurgeableResources :many
SELECT r.id FROM resources r
WHERE r.deleted_at < ?
  AND NOT EXISTS (SELECT 1 FROM resource_files f WHERE f.resource_id = r.id)
LIMIT ?;

-- name: HardDeleteResourceRows :exec
DELETE FROM resources WHERE id = ?;

-- name: HardDeleteVersions :exec
DELETE FROM resource_versions WHERE resource_id = ?;

-- name: RejectFile :execrows
UPDATE resource_files SET status = 'rejected', rejected_reason = ? WHERE id = ? AND resource_id = ?;
