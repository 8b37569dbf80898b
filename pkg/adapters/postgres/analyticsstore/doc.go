// Package analyticsstore is the analytics service's PostgreSQL store: the
// hash-chained audit log with its checkpoints and keys, and gateway usage
// with its roll-ups, over pgx v5 and sqlc-generated queries (in
// internal/analyticsdb). ClickHouse is the other implementation of the same
// ports (pkg/adapters/clickhouse).
package analyticsstore
