package porttest

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/services/processing/app"
	"github.com/lattice-platform/lattice/services/processing/domain"
)

// JobStore checks a app.JobStore.
func JobStore(t *testing.T, newStore func(t *testing.T) app.JobStore) {
	ctx := context.Background()
	job := func(kind domain.JobKind, resource string) domain.Job {
		ts := now()
		return domain.Job{ID: newID(), Kind: kind, ResourceID: resource, ResourceVersion: 1, State: domain.Queued,
			MaxAttempts: 5, CreatedAt: ts, UpdatedAt: ts, NextAttemptAt: ts}
	}

	t.Run("create, get, update", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		j := job(domain.KindExtractFile, "r1")
		j.FileID = "f1"
		require.NoError(t, s.Create(ctx, j))
		require.True(t, fault.Of(s.Create(ctx, j), fault.Conflict))
		got, err := s.Get(ctx, j.ID)
		require.NoError(t, err)
		require.Equal(t, j, got)
		_, err = s.Get(ctx, newID())
		require.ErrorIs(t, err, domain.ErrJobNotFound)

		started, err := s.Update(ctx, j.ID, func(cur domain.Job) (domain.Job, error) { return cur.Start(now()) })
		require.NoError(t, err)
		require.Equal(t, domain.Running, started.State)
		_, err = s.Update(ctx, j.ID, func(cur domain.Job) (domain.Job, error) { return cur.Start(now()) })
		require.ErrorIs(t, err, domain.ErrJobNotRunnable)
		got, err = s.Get(ctx, j.ID)
		require.NoError(t, err)
		require.Equal(t, started, got)
		_, err = s.Update(ctx, newID(), func(cur domain.Job) (domain.Job, error) { return cur, nil })
		require.ErrorIs(t, err, domain.ErrJobNotFound)
	})

	t.Run("concurrent updates are not lost", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		j := job(domain.KindIndexResource, "r2")
		require.NoError(t, s.Create(ctx, j))
		var wg sync.WaitGroup
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.Update(ctx, j.ID, func(cur domain.Job) (domain.Job, error) {
					cur.Progress += 10
					return cur, nil
				})
				require.NoError(t, err)
			}()
		}
		wg.Wait()
		got, err := s.Get(ctx, j.ID)
		require.NoError(t, err)
		require.Equal(t, 100, got.Progress)
	})

	t.Run("list filters and pages in creation order", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		empty, err := s.List(ctx, app.JobFilter{}, "", 10)
		require.NoError(t, err)
		require.Empty(t, empty)
		var ids []string
		for i := range 5 {
			kind := domain.KindExtractFile
			if i%2 == 1 {
				kind = domain.KindIndexResource
			}
			j := job(kind, "r3")
			require.NoError(t, s.Create(ctx, j))
			ids = append(ids, j.ID)
		}
		first, err := s.List(ctx, app.JobFilter{}, "", 2)
		require.NoError(t, err)
		require.Equal(t, ids[:2], []string{first[0].ID, first[1].ID})
		rest, err := s.List(ctx, app.JobFilter{}, first[1].ID, 10)
		require.NoError(t, err)
		require.Len(t, rest, 3)
		files, err := s.List(ctx, app.JobFilter{Kind: domain.KindExtractFile, ResourceID: "r3"}, "", 10)
		require.NoError(t, err)
		require.Len(t, files, 3)
		none, err := s.List(ctx, app.JobFilter{State: domain.Dead}, "", 10)
		require.NoError(t, err)
		require.Empty(t, none)
	})
}
