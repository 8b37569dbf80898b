package natsjs_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	"github.com/lattice-platform/lattice/pkg/platform/priority"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/pkg/testinfra"
)

// work stands for a unit of background work of 100 ms: at 1 %, the next
// unit then owes the requests about ten seconds.
func work() { <-time.After(100 * time.Millisecond) }

// expectGatedSecond receives "first", checks that "second" waits on g
// while the request is in flight, ends the request and receives "second".
func expectGatedSecond(t *testing.T, g *priority.Gate, end func(), handled <-chan string) {
	t.Helper()
	require.Equal(t, "first", <-handled)
	require.Eventually(t, func() bool { return g.Waiting() == 1 }, 5*time.Second, time.Millisecond,
		"the second unit should wait while a request is in flight")
	select {
	case id := <-handled:
		t.Fatalf("%s was handled while a request was in flight and its turn had not come", id)
	default:
	}
	end()
	select {
	case id := <-handled:
		require.Equal(t, "second", id)
	case <-time.After(10 * time.Second):
		t.Fatal("the second unit still waits after the request ended")
	}
}

func TestSubscriberEventsWaitForRequestsInFlight(t *testing.T) {
	t.Parallel()
	ctx, js := connectWithStreams(t)
	g, end := testinfra.BusyGate(t)
	sub := natsjs.NewSubscriber(js, slog.New(slog.DiscardHandler))
	sub.Gate = g

	handled := make(chan string, 2)
	subCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = sub.Subscribe(subCtx, "gate-consumer", []string{"events.gatetest.>"}, func(_ context.Context, e ports.Event) error {
			work()
			handled <- e.ID
			return nil
		})
	}()
	defer func() { stop(); <-done }()
	pub := natsjs.NewPublisher(js, 5*time.Second)
	for _, id := range []string{"first", "second"} {
		require.NoError(t, pub.PublishBatch(ctx, []ports.Event{{ID: id, Subject: "events.gatetest." + id, Payload: []byte(`{}`)}})[0])
	}
	expectGatedSecond(t, g, end, handled)
}

func TestWorkQueueJobsWaitForRequestsInFlight(t *testing.T) {
	t.Parallel()
	ctx, js := connectWithStreams(t)
	q, err := natsjs.NewWorkQueue(ctx, js, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	g, end := testinfra.BusyGate(t)
	q.Gate = g
	require.NoError(t, q.Enqueue(ctx, "extract_file", "first", "first"))
	require.NoError(t, q.Enqueue(ctx, "extract_file", "second", "second"))

	handled := make(chan string, 2)
	workCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- q.Work(workCtx, 1, func(_ context.Context, job string) natsjs.Verdict {
			work()
			handled <- job
			return natsjs.Verdict{Done: true}
		})
	}()
	expectGatedSecond(t, g, end, handled)
	stop()
	require.NoError(t, <-done)
}
