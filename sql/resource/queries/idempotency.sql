-- name: IdempotencyRecord :one
SELECT * FROM idempotency_keys WHERE caller_id = ? AND idem_key = ? AND expires_at > ?;

-- name: InsertIdempotencyRecord :exec
INSERT INTO idempotency_keys (caller_id, idem_key, request_hash, status, response_body, resource_id, created_at, expires_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?);

-- name: DeleteExpiredIdempotencyRecord :exec
-- Only an expired record may be replaced; a live one must make the insert
-- fail, even when the caller's snapshot did not see it yet.
DELETE FROM idempotency_keys WHERE caller_id = ? AND idem_key = ? AND expires_at <= ?;

-- name: DeleteExpiredIdempotency :execrows
DELETE FROM idempotency_keys WHERE expires_at <= ? LIMIT 1000;
