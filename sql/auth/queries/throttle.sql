-- name: ThrottleState :one
SELECT * FROM login_throttle WHERE key = $1;

-- name: RecordLoginFailure :one
-- Counts a failure atomically: a failure after the window has passed starts a
-- new window; reaching the limit sets the lockout.
INSERT INTO login_throttle AS t (key, failures, window_start, locked_until)
VALUES (@key, 1, @now, CASE WHEN 1 >= @max_failures::int THEN @lock_until::timestamptz END)
ON CONFLICT (key) DO UPDATE SET
    failures     = CASE WHEN t.window_start <= @window_floor::timestamptz THEN 1 ELSE t.failures + 1 END,
    window_start = CASE WHEN t.window_start <= @window_floor::timestamptz THEN @now ELSE t.window_start END,
    locked_until = CASE
        WHEN (CASE WHEN t.window_start <= @window_floor::timestamptz THEN 1 ELSE t.failures + 1 END) >= @max_failures::int
        THEN @lock_until::timestamptz
        ELSE t.locked_until END
RETURNING *;

-- name: ClearThrottle :exec
DELETE FROM login_throttle WHERE key = $1;
