package jobstore_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	"github.com/lattice-platform/lattice/pkg/adapters/natsjs/jobstore"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/services/processing/app"
	"github.com/lattice-platform/lattice/services/processing/app/porttest"
)

func TestJobStore(t *testing.T) {
	porttest.JobStore(t, func(t *testing.T) app.JobStore {
		ctx := context.Background()
		nc, js, err := natsjs.Connect(testinfra.NATS(t), "jobs-test")
		require.NoError(t, err)
		t.Cleanup(nc.Close)
		s, err := jobstore.New(ctx, js, "jobs")
		require.NoError(t, err)
		return s
	})
}

// TestJobsAreReadFromTheLeader: the bucket answers gets from its stream's
// leader only, so a replica catching up cannot report a new job missing;
// opening it again (a restart, a second replica) keeps it so.
func TestJobsAreReadFromTheLeader(t *testing.T) {
	ctx := context.Background()
	nc, js, err := natsjs.Connect(testinfra.NATS(t), "jobs-test")
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	for range 2 {
		_, err := jobstore.New(ctx, js, "leader-reads")
		require.NoError(t, err)
		s, err := js.Stream(ctx, "KV_leader-reads")
		require.NoError(t, err)
		require.False(t, s.CachedInfo().Config.AllowDirect)
	}
}
