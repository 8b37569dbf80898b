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
