package portstest

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/ports"
)

// OutboxStore is a store's outbox seen through its three ports.
type OutboxStore interface {
	ports.EventOutbox
	ports.OutboxStore
	ports.OutboxBacklog
}

// OutboxBacklog checks that an outbox counts and dates what it has not
// published: nothing at first, then what was added, dated when it was
// added, then nothing once it is marked sent.
func OutboxBacklog(t *testing.T, newStore func(t *testing.T) OutboxStore) {
	ctx := context.Background()
	s := newStore(t)
	n, oldest, err := s.Backlog(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	require.True(t, oldest.IsZero(), "nothing waits: %v", oldest)

	before := time.Now().Add(-time.Second)
	for range 3 {
		require.NoError(t, s.Add(ctx, ports.Event{ID: uuid.Must(uuid.NewV7()).String(), Subject: "audit.test", Payload: []byte(`{}`)}))
	}
	n, oldest, err = s.Backlog(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.WithinRange(t, oldest, before, time.Now().Add(time.Second))

	pending, err := s.Pending(ctx, 10)
	require.NoError(t, err)
	seqs := make([]int64, len(pending))
	for i, e := range pending {
		seqs[i] = e.Seq
	}
	require.NoError(t, s.MarkSent(ctx, seqs, time.Now()))
	n, oldest, err = s.Backlog(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	require.True(t, oldest.IsZero())
}
