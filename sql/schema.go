// Package schema embeds each store's migrations so the binary can create and
// migrate its databases on start without files beside it. The same files are
// sqlc's schema input.
package schema

import "embed"

// Auth holds the auth service's PostgreSQL migrations (golang-migrate format).
//
//go:embed auth/migrations/*.sql
var Auth embed.FS

// Resource holds the resource service's MySQL-protocol migrations.
//
//go:embed resource/migrations/*.sql
var Resource embed.FS

// Search holds the search service's MySQL-protocol migrations.
//
//go:embed search/migrations/*.sql
var Search embed.FS

// Analytics holds the analytics service's PostgreSQL migrations.
//
//go:embed analytics/migrations/*.sql
var Analytics embed.FS

// ClickHouse holds the analytics store's ClickHouse schema, applied in file
// order by pkg/adapters/clickhouse (sqlc has no ClickHouse engine).
//
//go:embed clickhouse/analytics/*.sql
var ClickHouse embed.FS
