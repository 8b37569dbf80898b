-- name: LegacyIDs :many
SELECT legacy_id, id FROM legacy_ids WHERE kind = sqlc.arg(kind) AND legacy_id IN (sqlc.slice(legacy_ids));

-- name: InsertLegacyID :exec
INSERT INTO legacy_ids (kind, legacy_id, id, imported_at) VALUES (?, ?, ?, ?);
