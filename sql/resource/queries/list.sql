-- Listing: keyset pagination on (sort column, id), newest first. The
-- visibility predicate is the same one domain.Caller.CanRead applies, so a
-- page never holds a resource the caller may not read. Optional filters are
-- NULL when unused.

-- name: ListByCreated :many
SELECT r.* FROM resources r
WHERE r.deleted_at IS NULL
  AND (sqlc.arg(is_admin) OR r.owner_id = sqlc.arg(caller) OR r.visibility = 'public'
       OR (r.visibility = 'internal' AND sqlc.arg(authenticated)))
  AND (sqlc.narg(owner) IS NULL OR r.owner_id = sqlc.narg(owner))
  AND (sqlc.narg(visibility) IS NULL OR r.visibility = sqlc.narg(visibility))
  AND (sqlc.narg(updated_since) IS NULL OR r.updated_at >= sqlc.narg(updated_since))
  AND (sqlc.narg(tag) IS NULL OR EXISTS (SELECT 1 FROM resource_tags t WHERE t.resource_id = r.id AND t.tag = sqlc.narg(tag)))
  AND (sqlc.narg(meta_key) IS NULL OR EXISTS (SELECT 1 FROM resource_metadata m
       WHERE m.resource_id = r.id AND m.meta_key = sqlc.narg(meta_key) AND m.meta_value = sqlc.narg(meta_value)))
  AND (sqlc.narg(after_time) IS NULL OR r.created_at < sqlc.narg(after_time)
       OR (r.created_at = sqlc.narg(after_time) AND r.id < sqlc.narg(after_id)))
ORDER BY r.created_at DESC, r.id DESC
LIMIT ?;

-- name: ListByUpdated :many
SELECT r.* FROM resources r
WHERE r.deleted_at IS NULL
  AND (sqlc.arg(is_admin) OR r.owner_id = sqlc.arg(caller) OR r.visibility = 'public'
       OR (r.visibility = 'internal' AND sqlc.arg(authenticated)))
  AND (sqlc.narg(owner) IS NULL OR r.owner_id = sqlc.narg(owner))
  AND (sqlc.narg(visibility) IS NULL OR r.visibility = sqlc.narg(visibility))
  AND (sqlc.narg(updated_since) IS NULL OR r.updated_at >= sqlc.narg(updated_since))
  AND (sqlc.narg(tag) IS NULL OR EXISTS (SELECT 1 FROM resource_tags t WHERE t.resource_id = r.id AND t.tag = sqlc.narg(tag)))
  AND (sqlc.narg(meta_key) IS NULL OR EXISTS (SELECT 1 FROM resource_metadata m
       WHERE m.resource_id = r.id AND m.meta_key = sqlc.narg(meta_key) AND m.meta_value = sqlc.narg(meta_value)))
  AND (sqlc.narg(after_time) IS NULL OR r.updated_at < sqlc.narg(after_time)
       OR (r.updated_at = sqlc.narg(after_time) AND r.id < sqlc.narg(after_id)))
ORDER BY r.updated_at DESC, r.id DESC
LIMIT ?;
