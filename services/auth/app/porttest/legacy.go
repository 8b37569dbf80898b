package porttest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/services/auth/app"
)

// LegacyIDs checks an app.LegacyIDs; newTable returns an empty one.
func LegacyIDs(t *testing.T, newTable func(t *testing.T) app.LegacyIDs) {
	t.Run("a row is recorded once and found by kind and legacy id", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		l := newTable(t)
		id := newID()
		got, err := l.Lookup(ctx, "user", "42")
		require.NoError(t, err)
		require.Empty(t, got)
		require.NoError(t, l.Record(ctx, "user", "42", id, now()))
		got, err = l.Lookup(ctx, "user", "42")
		require.NoError(t, err)
		require.Equal(t, id, got)
		got, err = l.Lookup(ctx, "resource", "42")
		require.NoError(t, err)
		require.Empty(t, got, "kinds are apart")
		require.True(t, fault.Of(l.Record(ctx, "user", "42", newID(), now()), fault.Conflict), "once")
	})
}
