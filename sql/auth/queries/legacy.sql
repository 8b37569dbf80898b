-- name: LegacyID :one
SELECT id FROM legacy_ids WHERE kind = $1 AND legacy_id = $2;

-- name: InsertLegacyID :exec
INSERT INTO legacy_ids (kind, legacy_id, id, imported_at) VALUES ($1, $2, $3, $4);
