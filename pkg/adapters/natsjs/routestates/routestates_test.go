package routestates_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	"github.com/lattice-platform/lattice/pkg/adapters/natsjs/routestates"
	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/services/gateway/domain"
)

// watched records what a watch delivered.
type watched struct {
	mu     sync.Mutex
	states map[string]domain.MigrationState
	revs   map[string]uint64
	loaded bool
}

func (w *watched) update(prefix string, s domain.MigrationState, rev uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.states[prefix], w.revs[prefix] = s, rev
}

func (w *watched) get(prefix string) (domain.MigrationState, uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.states[prefix], w.revs[prefix]
}

// TestStatesAreSharedByEveryReplica: two stores on one NATS (two gateway
// replicas) see each other's writes, through Get and through a watch,
// which first delivers what is stored; a write on a stale revision is a
// conflict; a deleted state reads as legacy.
func TestStatesAreSharedByEveryReplica(t *testing.T) {
	ctx := context.Background()
	url := testinfra.NATS(t)
	open := func(name string) *routestates.Store {
		nc, js, err := natsjs.Connect(url, name)
		require.NoError(t, err)
		t.Cleanup(nc.Close)
		return routestates.New(js, 1)
	}
	a, b := open("gateway-a"), open("gateway-b")

	_, rev, err := a.Get(ctx, "/v1/resources")
	require.NoError(t, err)
	require.Zero(t, rev, "nothing stored yet")
	shadow := domain.MigrationState{Phase: domain.PhaseShadow, UpdatedAt: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC), UpdatedBy: "u1"}
	stored, err := a.Put(ctx, "/v1/resources", shadow, 0)
	require.NoError(t, err)
	_, err = b.Put(ctx, "/v1/resources", shadow, 0)
	require.True(t, fault.Of(err, fault.Conflict), "the other replica wrote first")
	got, rev, err := b.Get(ctx, "/v1/resources")
	require.NoError(t, err)
	require.Equal(t, shadow, got)
	require.Equal(t, stored, rev, "Put returns the revision it stored")

	w := &watched{states: map[string]domain.MigrationState{}, revs: map[string]uint64{}}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- b.Watch(wctx, w.update, func() { w.mu.Lock(); w.loaded = true; w.mu.Unlock() })
	}()
	testinfra.Within(t, 10*time.Second, "the watch delivers what is stored", func() bool {
		s, r := w.get("/v1/resources")
		w.mu.Lock()
		defer w.mu.Unlock()
		return r == stored && s == shadow && w.loaded
	})

	canary := domain.MigrationState{Phase: domain.PhaseCanary, Percent: 25, UpdatedAt: shadow.UpdatedAt.Add(time.Minute)}
	next, err := a.Put(ctx, "/v1/resources", canary, rev)
	require.NoError(t, err)
	require.Greater(t, next, stored, "revisions grow")
	_, err = a.Put(ctx, "/v1/resources", canary, rev)
	require.True(t, fault.Of(err, fault.Conflict), "a stale revision")
	testinfra.Within(t, 10*time.Second, "the other replica sees the change, with its revision", func() bool {
		s, r := w.get("/v1/resources")
		return s == canary && r == next
	})

	require.NoError(t, natsjsDelete(ctx, url, "v1.resources"))
	testinfra.Within(t, 10*time.Second, "a deleted state is legacy", func() bool {
		s, r := w.get("/v1/resources")
		return s.Phase == domain.PhaseLegacy && r > next
	})
	stop()
	require.NoError(t, <-done)

	_, err = a.Put(ctx, "/v1/has space", canary, 0)
	require.True(t, fault.Of(err, fault.Invalid))
	_, _, err = a.Get(ctx, "/")
	require.True(t, fault.Of(err, fault.Invalid))
}

// natsjsDelete deletes a key by hand, as an operator might.
func natsjsDelete(ctx context.Context, url, key string) error {
	nc, js, err := natsjs.Connect(url, "operator")
	if err != nil {
		return err
	}
	defer nc.Close()
	kv, err := js.KeyValue(ctx, routestates.Bucket)
	if err != nil {
		return err
	}
	return kv.Delete(ctx, key)
}

// TestTheBucketIsBoundOnFirstUse: making a store touches nothing, so a
// gateway starts while JetStream is away; the first use makes the bucket,
// and a use that cannot reach it is Unavailable.
func TestTheBucketIsBoundOnFirstUse(t *testing.T) {
	ctx := context.Background()
	nc, js, err := natsjs.Connect(testinfra.NATS(t), "gateway")
	require.NoError(t, err)
	s := routestates.New(js, 1)
	_, err = js.KeyValue(ctx, routestates.Bucket)
	require.Error(t, err, "no bucket yet")
	_, rev, err := s.Get(ctx, "/v1/resources")
	require.NoError(t, err)
	require.Zero(t, rev)
	_, err = js.KeyValue(ctx, routestates.Bucket)
	require.NoError(t, err, "the first use made it")

	nc.Close()
	away := routestates.New(js, 1)
	_, _, err = away.Get(ctx, "/v1/resources")
	require.True(t, fault.Of(err, fault.Unavailable), "got %v", err)
}
