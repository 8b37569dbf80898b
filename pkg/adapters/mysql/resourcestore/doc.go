// Package resourcestore is the resource service's MySQL-protocol store:
// resources with their versions, files, idempotency records and the event
// outbox, over sqlc-generated queries (in internal/resourcedb). sqlc rows
// never leave this package: they are mapped to domain types here.
package resourcestore
