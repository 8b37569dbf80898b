package jobstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	"github.com/lattice-platform/lattice/pkg/adapters/natsjs/jobstore"
	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/services/processing/app"
	"github.com/lattice-platform/lattice/services/processing/app/porttest"
	"github.com/lattice-platform/lattice/services/processing/domain"
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

// TestACallWhoseReplyIsLostFailsWithinItsBound: the server takes the
// requests and its replies are lost (a node restarting). Each call fails
// as unavailable once its own bound passes, not at the caller's far
// deadline, so a job is retried in seconds.
func TestACallWhoseReplyIsLostFailsWithinItsBound(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	url, relay := testinfra.StallingNATS(t)
	nc, js, err := natsjs.Connect(url, "jobs-test")
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	s, err := jobstore.New(ctx, js, "stalled")
	require.NoError(t, err)
	s.SetCallTimeout(50 * time.Millisecond)
	ts := time.Now().UTC()
	j := domain.Job{ID: uuid.NewString(), Kind: domain.KindExtractFile, ResourceID: "r1", FileID: "f1", ResourceVersion: 1,
		State: domain.Queued, MaxAttempts: 5, CreatedAt: ts, UpdatedAt: ts, NextAttemptAt: ts}
	require.NoError(t, s.Create(ctx, j))

	relay.Stall()
	_, err = s.Get(ctx, j.ID)
	require.True(t, fault.Of(err, fault.Unavailable), "%v", err)
	_, err = s.Update(ctx, j.ID, func(j domain.Job) (domain.Job, error) { j.Progress = 50; return j, nil })
	require.True(t, fault.Of(err, fault.Unavailable), "%v", err)
	require.NoError(t, ctx.Err(), "the caller's deadline was not what ended the calls")
}
