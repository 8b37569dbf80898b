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

// twoStores are two processes' stores on one bucket, and a queued job the
// first created.
func twoStores(t *testing.T) (a, b *jobstore.Store, j domain.Job) {
	t.Helper()
	ctx := context.Background()
	url := testinfra.NATS(t) // a server of the test's own
	for _, s := range []**jobstore.Store{&a, &b} {
		nc, js, err := natsjs.Connect(url, "jobs-test")
		require.NoError(t, err)
		t.Cleanup(nc.Close)
		*s, err = jobstore.New(ctx, js, "jobs")
		require.NoError(t, err)
	}
	ts := time.Now().UTC()
	j = domain.Job{ID: uuid.NewString(), Kind: domain.KindIndexResource, ResourceID: "r1", ResourceVersion: 1,
		State: domain.Queued, MaxAttempts: 5, CreatedAt: ts, UpdatedAt: ts, NextAttemptAt: ts}
	require.NoError(t, a.Create(ctx, j))
	return a, b, j
}

// A job's run updates it several times; the store that wrote it last does
// not read it before each update, and nothing is lost by that.
func TestUpdatesOfAJobThisStoreWroteDoNotReadIt(t *testing.T) {
	ctx := context.Background()
	a, _, j := twoStores(t)
	gets := jobstore.CountGets(a)
	for _, p := range []int{10, 50, 100} {
		_, err := a.Update(ctx, j.ID, func(j domain.Job) (domain.Job, error) { j.Progress = p; j.Attempts++; return j, nil })
		require.NoError(t, err)
	}
	require.Zero(t, gets.Load(), "no read before an update of a job this store wrote last")
	got, err := a.Get(ctx, j.ID)
	require.NoError(t, err)
	require.Equal(t, 100, got.Progress)
	require.Equal(t, 3, got.Attempts, "each update applied to the one before")
}

// Another process changed the job since this store wrote it: the write on
// the remembered revision fails, the job is read, and the change is applied
// to what is stored, so neither writer's change is lost.
func TestAChangeByAnotherStoreIsNotLost(t *testing.T) {
	ctx := context.Background()
	a, b, j := twoStores(t)
	_, err := b.Update(ctx, j.ID, func(j domain.Job) (domain.Job, error) { j.Attempts = 7; return j, nil })
	require.NoError(t, err)

	gets := jobstore.CountGets(a)
	got, err := a.Update(ctx, j.ID, func(j domain.Job) (domain.Job, error) { j.Progress = 40; return j, nil })
	require.NoError(t, err)
	require.Equal(t, 7, got.Attempts, "the other store's change")
	require.Equal(t, 40, got.Progress)
	require.EqualValues(t, 1, gets.Load(), "read once, after the write on the old revision failed")
	stored, err := b.Get(ctx, j.ID)
	require.NoError(t, err)
	require.Equal(t, got, stored)
}

// A change that refuses the job as this store remembers it is judged
// again on the stored job, which another process may have moved on.
func TestARefusalOfARememberedJobIsJudgedAgain(t *testing.T) {
	ctx := context.Background()
	a, b, j := twoStores(t)
	_, err := b.Update(ctx, j.ID, func(j domain.Job) (domain.Job, error) { j.State = domain.Running; return j, nil })
	require.NoError(t, err)

	onlyRunning := func(j domain.Job) (domain.Job, error) {
		if j.State != domain.Running {
			return j, fault.New(fault.Conflict, "the job is not running")
		}
		j.Progress = 50
		return j, nil
	}
	got, err := a.Update(ctx, j.ID, onlyRunning)
	require.NoError(t, err, "a remembered Queued is not the stored Running")
	require.Equal(t, 50, got.Progress)

	_, err = b.Update(ctx, j.ID, func(j domain.Job) (domain.Job, error) { j.State = domain.Succeeded; return j, nil })
	require.NoError(t, err)
	_, err = a.Update(ctx, j.ID, onlyRunning)
	require.True(t, fault.Of(err, fault.Conflict), "refused on the stored job too: %v", err)
}
