-- name: LockAuditLog :exec
SELECT pg_advisory_xact_lock(7215441);

-- name: AuditHead :one
SELECT seq, canonical, hash FROM audit_log ORDER BY seq DESC LIMIT 1;

-- name: AuditEventExists :one
SELECT EXISTS (SELECT 1 FROM audit_log WHERE event_id = $1);

-- name: InsertAuditEntry :exec
INSERT INTO audit_log (seq, event_id, occurred_at, actor, action, target, canonical, hash)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8);

-- name: AuditEntries :many
SELECT seq, canonical, hash FROM audit_log WHERE seq BETWEEN $1 AND $2 ORDER BY seq;

-- name: AuditHashAt :one
SELECT hash FROM audit_log WHERE seq = $1;

-- name: ListAudit :many
SELECT seq, event_id, occurred_at, actor, action, target, canonical FROM audit_log
WHERE seq > sqlc.arg(after_seq)
  AND (sqlc.arg(actor)::text = '' OR actor = sqlc.arg(actor))
  AND (sqlc.arg(action)::text = '' OR action = sqlc.arg(action))
  AND (sqlc.arg(target)::text = '' OR target = sqlc.arg(target))
  AND occurred_at >= sqlc.arg(since) AND occurred_at < sqlc.arg(until)
ORDER BY seq LIMIT sqlc.arg(max_rows);

-- name: InsertCheckpoint :exec
INSERT INTO audit_checkpoints (seq, hash, signed_at, key_id, signature) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (seq) DO NOTHING;

-- name: Checkpoints :many
SELECT seq, hash, signed_at, key_id, signature FROM audit_checkpoints WHERE seq BETWEEN $1 AND $2 ORDER BY seq;

-- name: InsertSigningKey :exec
INSERT INTO audit_signing_keys (key_id, public_key, private_key) VALUES ($1, $2, $3)
ON CONFLICT (key_id) DO NOTHING;

-- name: SigningKeys :many
SELECT key_id, public_key, private_key FROM audit_signing_keys ORDER BY created_at, key_id;
