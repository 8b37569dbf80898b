package authstore

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lattice-platform/lattice/pkg/adapters/postgres"
	"github.com/lattice-platform/lattice/pkg/adapters/postgres/authstore/internal/authdb"
	"github.com/lattice-platform/lattice/services/auth/app"
)

// LegacyIDs is the PostgreSQL app.LegacyIDs.
type LegacyIDs struct{ q *authdb.Queries }

var _ app.LegacyIDs = (*LegacyIDs)(nil)

// NewLegacyIDs returns the table on pool.
func NewLegacyIDs(pool *pgxpool.Pool) *LegacyIDs { return &LegacyIDs{q: authdb.New(pool)} }

// Lookup returns the id the row became, or "".
func (l *LegacyIDs) Lookup(ctx context.Context, kind, legacyID string) (string, error) {
	id, err := queries(ctx, l.q).LegacyID(ctx, authdb.LegacyIDParams{Kind: kind, LegacyID: legacyID})
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", postgres.Translate(err)
	}
	return id.String(), nil
}

// Record notes the row's id; a second note is a conflict.
func (l *LegacyIDs) Record(ctx context.Context, kind, legacyID, id string, at time.Time) error {
	uid, err := parseID(id)
	if err != nil {
		return err
	}
	return postgres.Translate(queries(ctx, l.q).InsertLegacyID(ctx, authdb.InsertLegacyIDParams{Kind: kind, LegacyID: legacyID, ID: uid, ImportedAt: at}))
}
