-- name: InsertCode :exec
INSERT INTO oauth_codes (code_hash, client_id, user_id, redirect_uri, scopes, code_challenge, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8);

-- name: ConsumeCode :one
-- Spends the code atomically; a second call finds consumed_at set.
UPDATE oauth_codes SET consumed_at = @now::timestamptz
WHERE code_hash = @code_hash AND consumed_at IS NULL
RETURNING *;

-- name: CodeByHash :one
SELECT * FROM oauth_codes WHERE code_hash = $1;

-- name: InsertRefreshToken :exec
INSERT INTO oauth_refresh_tokens (id, family_id, token_hash, client_id, user_id, scopes, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8);

-- name: RefreshTokenForUpdate :one
SELECT * FROM oauth_refresh_tokens WHERE token_hash = $1 FOR UPDATE;

-- name: SpendRefreshToken :exec
UPDATE oauth_refresh_tokens SET spent_at = $2 WHERE id = $1;

-- name: RevokeRefreshFamily :execrows
UPDATE oauth_refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL;

-- name: RefreshTokenByHash :one
SELECT * FROM oauth_refresh_tokens WHERE token_hash = $1;

-- name: DeleteExpiredGrants :exec
WITH codes AS (DELETE FROM oauth_codes WHERE oauth_codes.expires_at <= @now::timestamptz)
DELETE FROM oauth_refresh_tokens WHERE oauth_refresh_tokens.expires_at <= @now::timestamptz;
