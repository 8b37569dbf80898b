package mysql

import (
	"context"
	"database/sql"

	"github.com/lattice-platform/lattice/pkg/ports"
)

// Transactor is the ports.Transactor of one database: the unit of work's
// *sql.Tx travels in the context, and a store's repositories run their
// statements in it (Tx). A transaction the server rolls back for a
// deadlock is run again whole (InTxRetrying), so fn must only read and
// write through the context's transaction.
type Transactor struct{ db *sql.DB }

var _ ports.Transactor = Transactor{}

// NewTransactor returns a Transactor on db.
func NewTransactor(db *sql.DB) Transactor { return Transactor{db: db} }

type txKey struct{}

// InTx runs fn in a transaction carried by the context it is given; within
// one already, it joins it.
func (t Transactor) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, ok := Tx(ctx); ok {
		return fn(ctx)
	}
	return InTxRetrying(ctx, t.db, func(tx *sql.Tx) error {
		return fn(context.WithValue(ctx, txKey{}, tx))
	})
}

// Tx returns the transaction the context carries, if any.
func Tx(ctx context.Context) (*sql.Tx, bool) {
	tx, ok := ctx.Value(txKey{}).(*sql.Tx)
	return tx, ok
}

// Write runs fn in the context's transaction, or in one of its own when
// the context carries none: how a repository's write joins a unit of work.
func Write(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	if tx, ok := Tx(ctx); ok {
		return fn(tx)
	}
	return InTx(ctx, db, fn)
}
