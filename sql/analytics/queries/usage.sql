-- name: InsertUsageRaw :many
INSERT INTO usage_raw (request_id, at, route, method, path, status, latency_ms, bytes_in, bytes_out, identity, client_id)
SELECT unnest(sqlc.arg(request_ids)::text[]), unnest(sqlc.arg(ats)::timestamptz[]), unnest(sqlc.arg(routes)::text[]),
    unnest(sqlc.arg(methods)::text[]), unnest(sqlc.arg(paths)::text[]), unnest(sqlc.arg(statuses)::int[]),
    unnest(sqlc.arg(latencies)::float8[]), unnest(sqlc.arg(bytes_ins)::bigint[]), unnest(sqlc.arg(bytes_outs)::bigint[]),
    unnest(sqlc.arg(identities)::text[]), unnest(sqlc.arg(client_ids)::text[])
ON CONFLICT (request_id) DO NOTHING
RETURNING request_id;

-- name: LockUsage :exec
SELECT pg_advisory_xact_lock(7215442);

-- name: ReadRollups :many
SELECT m.step, m.bucket, m.route, m.method, m.status_class, m.identity, m.client_id, m.requests, m.errors, m.bytes_in, m.bytes_out, m.latency
FROM usage_rollup m
JOIN (SELECT unnest(sqlc.arg(steps)::text[]) AS step, unnest(sqlc.arg(buckets)::timestamptz[]) AS bucket,
             unnest(sqlc.arg(routes)::text[]) AS route, unnest(sqlc.arg(methods)::text[]) AS method,
             unnest(sqlc.arg(status_classes)::smallint[]) AS status_class, unnest(sqlc.arg(identities)::text[]) AS identity,
             unnest(sqlc.arg(client_ids)::text[]) AS client_id) k
  ON m.step = k.step AND m.bucket = k.bucket AND m.route = k.route AND m.method = k.method
 AND m.status_class = k.status_class AND m.identity = k.identity AND m.client_id = k.client_id;

-- name: WriteRollups :exec
INSERT INTO usage_rollup (step, bucket, route, method, status_class, identity, client_id, requests, errors, bytes_in, bytes_out, latency)
SELECT unnest(sqlc.arg(steps)::text[]), unnest(sqlc.arg(buckets)::timestamptz[]), unnest(sqlc.arg(routes)::text[]),
       unnest(sqlc.arg(methods)::text[]), unnest(sqlc.arg(status_classes)::smallint[]), unnest(sqlc.arg(identities)::text[]),
       unnest(sqlc.arg(client_ids)::text[]), unnest(sqlc.arg(requests)::bigint[]), unnest(sqlc.arg(errors)::bigint[]),
       unnest(sqlc.arg(bytes_ins)::bigint[]), unnest(sqlc.arg(bytes_outs)::bigint[]), unnest(sqlc.arg(latencies)::bytea[])
ON CONFLICT (step, bucket, route, method, status_class, identity, client_id) DO UPDATE
SET requests = EXCLUDED.requests, errors = EXCLUDED.errors, bytes_in = EXCLUDED.bytes_in,
    bytes_out = EXCLUDED.bytes_out, latency = EXCLUDED.latency;

-- name: Rollups :many
SELECT step, bucket, route, method, status_class, identity, client_id, requests, errors, bytes_in, bytes_out, latency
FROM usage_rollup
WHERE step = sqlc.arg(step) AND bucket >= sqlc.arg(since) AND bucket < sqlc.arg(until)
  AND (sqlc.arg(identity)::text = '' OR identity = sqlc.arg(identity));

-- name: RawUsage :many
SELECT request_id, at, route, method, path, status, latency_ms, bytes_in, bytes_out, identity, client_id
FROM usage_raw WHERE at >= sqlc.arg(since) AND at < sqlc.arg(until) ORDER BY at, request_id;

-- name: DeleteRawBefore :execrows
DELETE FROM usage_raw WHERE at < $1;

-- name: DeleteRollupsBefore :execrows
DELETE FROM usage_rollup WHERE bucket < $1;

-- name: AddResourceReads :exec
INSERT INTO usage_resource_day (day, resource_id, reads)
SELECT unnest(sqlc.arg(days)::date[]), unnest(sqlc.arg(resource_ids)::text[]), unnest(sqlc.arg(reads)::bigint[])
ON CONFLICT (day, resource_id) DO UPDATE SET reads = usage_resource_day.reads + EXCLUDED.reads;

-- name: TopResources :many
SELECT resource_id, SUM(reads)::bigint AS reads FROM usage_resource_day
WHERE day >= sqlc.arg(since)::date AND day <= sqlc.arg(until)::date
GROUP BY resource_id ORDER BY reads DESC, resource_id LIMIT sqlc.arg(max_rows);

-- name: DeleteResourceReadsBefore :execrows
DELETE FROM usage_resource_day WHERE day < sqlc.arg(cutoff)::date;

-- name: ResourceReads :one
SELECT COALESCE(SUM(reads), 0)::bigint FROM usage_resource_day
WHERE resource_id = sqlc.arg(resource_id) AND day >= sqlc.arg(since)::date AND day <= sqlc.arg(until)::date;
