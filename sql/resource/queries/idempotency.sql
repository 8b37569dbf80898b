-- name: IdempotencyRecord :one
SELECT * FROM idempotency_keys WHERE caller_id = ? AND idem_key = ? AND expires_at > ?;

-- name: InsertIdempotencyRecord :exec
INSERT INTO idempotency_keys (caller_id, idem_key, request_hash, status, response_body, resource_id, created_at, expires_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?);

-- name: DeleteIdempotencyRecord :exec
DELETE FROM idempotency_keys WHERE caller_id = ? AND idem_key = ?;

-- name: DeleteExpiredIdempotency :execrows
DELETE FROM idempotency_keys WHERE expires_at <= ? LIMIT 1000;
