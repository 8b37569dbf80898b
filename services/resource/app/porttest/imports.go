package porttest

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/resource/app"
	"github.com/lattice-platform/lattice/services/resource/domain"
)

// ImportFixture is a store's Importer with its resource repository, unit
// of work and outbox.
type ImportFixture struct {
	ResourceFixture
	Imports app.Importer
}

// Importer checks an import store: a batch is kept whole with its legacy
// ids and events, a repeated legacy id keeps none of its batch, and
// Imported finds what was kept.
func Importer(t *testing.T, newStore func(t *testing.T) ImportFixture) {
	ctx := context.Background()
	batch := func(n int, prefix string) []app.LegacyResource {
		rs := make([]app.LegacyResource, n)
		for i := range rs {
			r := resourceAt(ownerA, domain.Internal, now())
			r.Tags, r.Metadata = []string{"imported", fmt.Sprintf("t%d", i)}, map[string]string{"legacy": prefix, "n": fmt.Sprint(i)}
			rs[i] = app.LegacyResource{LegacyID: fmt.Sprintf("%s-%d", prefix, i), Resource: r}
		}
		return rs
	}
	importBatch := func(f ImportFixture, rs []app.LegacyResource, evs ...ports.Event) error {
		return unitOfWork(ctx, f.Tx, f.Events, func(ctx context.Context) ([]ports.Event, error) {
			return evs, f.Imports.ImportResources(ctx, rs, now())
		})
	}

	t.Run("a batch is kept whole, with its legacy ids", func(t *testing.T) {
		t.Parallel()
		f := newStore(t)
		rs := batch(300, "a")
		ev := event("events.resource.created")
		require.NoError(t, importBatch(f, rs, ev))
		for _, lr := range []app.LegacyResource{rs[0], rs[299]} {
			got, err := f.Resources.Get(ctx, lr.Resource.ID)
			require.NoError(t, err)
			require.Equal(t, lr.Resource, got)
		}
		list, err := f.Resources.List(ctx, domain.ListQuery{Caller: domain.Caller{Subject: ownerA}, Tag: "t7", Limit: 10})
		require.NoError(t, err)
		require.Len(t, list, 1, "the tag index rows are written")
		require.Equal(t, rs[7].Resource.ID, list[0].ID)
		list, err = f.Resources.List(ctx, domain.ListQuery{Caller: domain.Caller{Subject: ownerA}, MetaKey: "n", MetaValue: "42", Limit: 10})
		require.NoError(t, err)
		require.Len(t, list, 1, "the metadata index rows are written")
		versions, err := f.Resources.Versions(ctx, rs[5].Resource.ID)
		require.NoError(t, err)
		require.Len(t, versions, 1)
		require.Equal(t, []string{ev.ID}, pendingIDs(t, f.Outbox))

		got, err := f.Imports.Imported(ctx, app.LegacyResourceKind, []string{"a-0", "a-299", "a-300", "b-0"})
		require.NoError(t, err)
		require.Equal(t, map[string]string{"a-0": rs[0].Resource.ID, "a-299": rs[299].Resource.ID}, got)
		got, err = f.Imports.Imported(ctx, app.LegacyFileKind, []string{"a-0"})
		require.NoError(t, err)
		require.Empty(t, got, "kinds are apart")
	})

	t.Run("a repeated legacy id keeps nothing of its batch", func(t *testing.T) {
		t.Parallel()
		f := newStore(t)
		require.NoError(t, importBatch(f, batch(2, "a")))
		again := append(batch(3, "b"), batch(1, "a")...)
		err := importBatch(f, again, event("events.resource.created"))
		require.True(t, fault.Of(err, fault.Conflict), "got %v", err)
		_, err = f.Resources.Get(ctx, again[0].Resource.ID)
		require.ErrorIs(t, err, domain.ErrNotFound)
		got, err := f.Imports.Imported(ctx, app.LegacyResourceKind, []string{"b-0", "b-1", "b-2"})
		require.NoError(t, err)
		require.Empty(t, got)
		require.Empty(t, pendingIDs(t, f.Outbox))
	})

	t.Run("record import", func(t *testing.T) {
		t.Parallel()
		f := newStore(t)
		id := newID()
		require.NoError(t, f.Imports.RecordImport(ctx, app.LegacyFileKind, "f-1", id, now()))
		require.True(t, fault.Of(f.Imports.RecordImport(ctx, app.LegacyFileKind, "f-1", newID(), now()), fault.Conflict))
		got, err := f.Imports.Imported(ctx, app.LegacyFileKind, []string{"f-1"})
		require.NoError(t, err)
		require.Equal(t, map[string]string{"f-1": id}, got)
	})
}
