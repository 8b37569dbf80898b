-- name: InsertClient :exec
INSERT INTO oauth_clients (id, name, client_type, secret_hash, redirect_uris, grant_types, scopes, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8);

-- name: ClientByID :one
SELECT * FROM oauth_clients WHERE id = $1;

-- name: ListClients :many
SELECT * FROM oauth_clients ORDER BY created_at, id;

-- name: DeleteClient :execrows
DELETE FROM oauth_clients WHERE id = $1;
