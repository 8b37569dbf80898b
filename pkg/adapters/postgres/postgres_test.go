package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/postgres"
	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/testinfra"
)

// TestAnUnreachableServerIsUnavailable: a server that refuses connections,
// or says it is shutting down, is a 503 for the caller, not an internal
// error; other server errors keep their meaning.
func TestAnUnreachableServerIsUnavailable(t *testing.T) {
	addr := testinfra.ClosedAddr(t)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := pgx.Connect(ctx, "postgres://postgres@"+addr+"/x?sslmode=disable&connect_timeout=2")
	require.Error(t, err)
	require.True(t, fault.Of(postgres.Translate(err), fault.Unavailable), "%v", err)
	require.True(t, fault.Of(postgres.Translate(&pgconn.PgError{Code: "57P01"}), fault.Unavailable), "admin shutdown")
	require.True(t, fault.Of(postgres.Translate(&pgconn.PgError{Code: "23505"}), fault.Conflict))
	require.False(t, fault.Of(postgres.Translate(&pgconn.PgError{Code: "42601"}), fault.Unavailable), "a syntax error is not an outage")
}
