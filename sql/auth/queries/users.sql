-- name: InsertUser :exec
INSERT INTO users (id, email, display_name, role, password_hash, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7);

-- name: UserByID :one
SELECT * FROM users WHERE id = $1;

-- name: UserByEmail :one
SELECT * FROM users WHERE email = $1;

-- name: ListUsersAfter :many
-- Keyset pagination on the time-ordered UUIDv7 primary key.
SELECT * FROM users WHERE id > $1 ORDER BY id LIMIT $2;

-- name: SetUserRole :execrows
UPDATE users SET role = $2, updated_at = $3 WHERE id = $1;

-- name: ReplacePasswordHash :execrows
-- Compare-and-set: only the hash that was just verified is replaced, so a
-- password changed meanwhile is never overwritten.
UPDATE users SET password_hash = sqlc.arg(new_hash), updated_at = sqlc.arg(updated_at)
WHERE id = sqlc.arg(id) AND password_hash = sqlc.arg(old_hash);
