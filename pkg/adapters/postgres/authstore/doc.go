// Package authstore is the auth service's PostgreSQL store: users,
// sessions, login throttling, OAuth grants and clients, signing keys, API
// keys and the event outbox, over pgx v5 and sqlc-generated queries (in
// internal/authdb). sqlc rows never leave this package: they are mapped to
// domain types here, and driver errors are translated into the fault
// taxonomy at the same boundary. Every repository joins the unit of work
// of a postgres.Transactor on the same pool.
package authstore

import (
	"context"

	"github.com/lattice-platform/lattice/pkg/adapters/postgres"
	"github.com/lattice-platform/lattice/pkg/adapters/postgres/authstore/internal/authdb"
)

// queries returns q bound to the context's transaction, if there is one.
func queries(ctx context.Context, q *authdb.Queries) *authdb.Queries {
	if tx, ok := postgres.Tx(ctx); ok {
		return q.WithTx(tx)
	}
	return q
}
