package natsjs_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/pkg/ports/portstest"
	"github.com/lattice-platform/lattice/pkg/testinfra"
)

func TestMain(m *testing.M) { testinfra.Run(m) }

func TestPublishBatchStoresOncePerID(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	nc, js, err := natsjs.Connect(testinfra.NATS(t), "test")
	require.NoError(t, err)
	defer nc.Close()
	require.NoError(t, natsjs.EnsureStreams(ctx, js))
	require.NoError(t, natsjs.EnsureStreams(ctx, js), "idempotent")

	pub := natsjs.NewPublisher(js, 5*time.Second)
	var events []ports.Event
	for i := range 100 {
		events = append(events, ports.Event{ID: fmt.Sprintf("ev-%03d", i), Subject: "events.resource.created", Payload: []byte(`{}`)})
	}
	for _, err := range pub.PublishBatch(ctx, events) {
		require.NoError(t, err)
	}
	for _, err := range pub.PublishBatch(ctx, events[:10]) { // a relay retrying
		require.NoError(t, err)
	}
	stream, err := js.Stream(ctx, "EVENTS")
	require.NoError(t, err)
	info, err := stream.Info(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 100, info.State.Msgs, "duplicates are dropped by id")

	msg, err := stream.GetMsg(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, "ev-000", msg.Header.Get(jetstream.MsgIDHeader))
}

func TestEmbeddedServerKeepsStreamsAcrossRestarts(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dir := t.TempDir()
	for round := range 2 {
		srv, err := natsjs.StartEmbedded(dir)
		require.NoError(t, err)
		nc, js, err := natsjs.Connect(srv.URL(), "test")
		require.NoError(t, err)
		require.NoError(t, natsjs.EnsureStreams(ctx, js))
		errs := natsjs.NewPublisher(js, 5*time.Second).PublishBatch(ctx, []ports.Event{{ID: fmt.Sprintf("r%d", round), Subject: "events.x", Payload: []byte("{}")}})
		require.NoError(t, errs[0])
		stream, err := js.Stream(ctx, "EVENTS")
		require.NoError(t, err)
		info, err := stream.Info(ctx)
		require.NoError(t, err)
		require.EqualValues(t, round+1, info.State.Msgs)
		nc.Close()
		srv.Close()
	}
}

func TestJobStore(t *testing.T) {
	portstest.JobStore(t, func(t *testing.T) ports.JobStore {
		ctx := context.Background()
		nc, js, err := natsjs.Connect(testinfra.NATS(t), "jobs-test")
		require.NoError(t, err)
		t.Cleanup(nc.Close)
		s, err := natsjs.NewJobStore(ctx, js, "jobs")
		require.NoError(t, err)
		return s
	})
}
