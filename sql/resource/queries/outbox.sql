-- name: InsertOutbox :exec
INSERT INTO outbox (event_id, subject, payload, created_at, trace_parent, trace_state) VALUES (?, ?, ?, ?, ?, ?);

-- name: PendingOutbox :many
SELECT seq, event_id, subject, payload, trace_parent, trace_state FROM outbox WHERE sent_at IS NULL ORDER BY seq LIMIT ?;

-- name: MarkOutboxSent :exec
UPDATE outbox SET sent_at = ? WHERE seq IN (sqlc.slice(seqs));

-- name: DeleteSentOutbox :execrows
DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < ? LIMIT 5000;

-- name: OutboxBacklog :one
-- How many events wait, and when the oldest was written (NULL when none
-- does): the backlog metrics.
SELECT COUNT(*) AS pending, MIN(created_at) AS oldest FROM outbox WHERE sent_at IS NULL;
