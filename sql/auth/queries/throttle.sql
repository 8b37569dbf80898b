-- name: ThrottleCounts :many
SELECT key, failures, last_failure FROM login_throttle WHERE key = ANY(@keys::text[]);

-- name: RecordLoginFailure :one
-- Counts a failure atomically; one after a quiet window starts over at one.
INSERT INTO login_throttle AS t (key, failures, last_failure)
VALUES (@key, 1, @now)
ON CONFLICT (key) DO UPDATE SET
    failures     = CASE WHEN t.last_failure < @window_floor::timestamptz THEN 1 ELSE t.failures + 1 END,
    last_failure = GREATEST(t.last_failure, @now)
RETURNING failures, last_failure;

-- name: ClearThrottle :exec
DELETE FROM login_throttle WHERE key = $1;

-- name: PurgeThrottle :execrows
-- Forgets counts whose latest failure is past every window.
DELETE FROM login_throttle WHERE last_failure < @before;
