-- name: InsertOutbox :exec
INSERT INTO outbox (event_id, subject, payload, created_at, trace_parent, trace_state) VALUES ($1, $2, $3, $4, $5, $6);

-- name: PendingOutbox :many
SELECT seq, event_id, subject, payload, trace_parent, trace_state FROM outbox WHERE sent_at IS NULL ORDER BY seq LIMIT $1;

-- name: MarkOutboxSent :exec
UPDATE outbox SET sent_at = sqlc.arg(sent_at) WHERE seq = ANY(sqlc.arg(seqs)::bigint[]);

-- name: DeleteSentOutbox :execrows
DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < $1;

-- name: OutboxBacklog :one
-- How many events wait, and when the oldest was written (the epoch when
-- none does): the backlog metrics.
SELECT count(*)::bigint AS pending, coalesce(min(created_at), 'epoch'::timestamptz)::timestamptz AS oldest
FROM outbox WHERE sent_at IS NULL;
