package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lattice-platform/lattice/pkg/ports"
)

// Transactor is the ports.Transactor of one pool. A store's repositories
// look for its transaction in the context (Tx) and run their queries in it.
type Transactor struct{ pool *pgxpool.Pool }

var _ ports.Transactor = Transactor{}

// NewTransactor returns a Transactor on pool.
func NewTransactor(pool *pgxpool.Pool) Transactor { return Transactor{pool: pool} }

type txKey struct{}

// InTx runs fn in a transaction carried by the context it is given.
func (t Transactor) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Value(txKey{}).(pgx.Tx); ok {
		return fn(ctx)
	}
	return pgx.BeginFunc(ctx, t.pool, func(tx pgx.Tx) error {
		return fn(context.WithValue(ctx, txKey{}, tx))
	})
}

// Tx returns the transaction the context carries, if any: a store's
// repositories bind their queries to it so they join the unit of work.
func Tx(ctx context.Context) (pgx.Tx, bool) {
	tx, ok := ctx.Value(txKey{}).(pgx.Tx)
	return tx, ok
}

// Beginner is where a repository starts its own transaction: a savepoint
// of the context's transaction, or a new one on the pool.
func Beginner(ctx context.Context, pool *pgxpool.Pool) interface {
	Begin(context.Context) (pgx.Tx, error)
} {
	if tx, ok := ctx.Value(txKey{}).(pgx.Tx); ok {
		return tx
	}
	return pool
}
