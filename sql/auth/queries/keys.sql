-- name: InsertSigningKey :exec
INSERT INTO signing_keys (kid, private_key, created_at) VALUES ($1, $2, $3);

-- name: PublishedSigningKeys :many
-- Every key still needed: the active one and retired ones whose tokens may
-- not have expired yet. Newest first.
SELECT * FROM signing_keys
WHERE retired_at IS NULL OR published_until > @now::timestamptz
ORDER BY created_at DESC, kid DESC;

-- name: RetireSigningKeys :execrows
-- Retires every active key except the new one.
UPDATE signing_keys SET retired_at = @now::timestamptz, published_until = @published_until::timestamptz
WHERE retired_at IS NULL AND kid <> @keep_kid;
