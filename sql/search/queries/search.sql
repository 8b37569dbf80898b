-- name: GetDocument :one
SELECT resource_id, owner_id, title, visibility, tags, metadata, version, updated_at, deleted
FROM search_documents WHERE resource_id = ?;

-- name: LockDocument :one
SELECT resource_id, owner_id, title, visibility, tags, metadata, version, updated_at, deleted
FROM search_documents WHERE resource_id = ? FOR UPDATE;

-- name: InsertDocumentIfAbsent :execrows
-- One row affected: the document was absent, and the transaction now holds
-- the new row's lock.
INSERT IGNORE INTO search_documents (resource_id, owner_id, title, visibility, tags, metadata, version, updated_at, deleted)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: UpsertDocument :exec
INSERT INTO search_documents (resource_id, owner_id, title, visibility, tags, metadata, version, updated_at, deleted)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON DUPLICATE KEY UPDATE owner_id = VALUES(owner_id), title = VALUES(title), visibility = VALUES(visibility),
    tags = VALUES(tags), metadata = VALUES(metadata), version = VALUES(version),
    updated_at = VALUES(updated_at), deleted = VALUES(deleted);

-- name: ListDocuments :many
SELECT resource_id, owner_id, title, visibility, tags, metadata, version, updated_at, deleted
FROM search_documents WHERE resource_id > ? AND deleted = FALSE
ORDER BY resource_id LIMIT ?;

-- name: LockSource :one
SELECT version, deleted FROM search_sources WHERE resource_id = ? AND file_id = ? FOR UPDATE;

-- name: UpsertSource :exec
INSERT INTO search_sources (resource_id, file_id, version, model, dimensions, deleted)
VALUES (?, ?, ?, ?, ?, ?)
ON DUPLICATE KEY UPDATE version = VALUES(version), model = VALUES(model),
    dimensions = VALUES(dimensions), deleted = VALUES(deleted);

-- name: DeleteSources :exec
DELETE FROM search_sources WHERE resource_id = ?;

-- name: DeleteSourceChunks :execrows
DELETE FROM search_chunks WHERE resource_id = ? AND file_id = ?;

-- name: DeleteResourceChunks :exec
DELETE FROM search_chunks WHERE resource_id = ?;

-- name: ListChunks :many
SELECT resource_id, file_id, chunk_id, seq, text, model, vector
FROM search_chunks WHERE resource_id = ? ORDER BY file_id, seq;

-- name: GetDocuments :many
SELECT resource_id, owner_id, title, visibility, tags, metadata, version, updated_at, deleted
FROM search_documents WHERE resource_id IN (sqlc.slice(ids));

-- name: ListChunksOf :many
SELECT resource_id, file_id, chunk_id, seq, text, model, vector
FROM search_chunks WHERE resource_id IN (sqlc.slice(ids)) ORDER BY resource_id, file_id, seq;

-- name: ListSourceChunks :many
SELECT resource_id, file_id, chunk_id, seq, text, model, vector
FROM search_chunks WHERE resource_id IN (sqlc.slice(resource_ids)) AND file_id IN (sqlc.slice(file_ids))
ORDER BY resource_id, file_id, seq;
