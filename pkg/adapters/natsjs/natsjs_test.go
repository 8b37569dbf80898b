package natsjs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	"github.com/lattice-platform/lattice/pkg/events"
	"github.com/lattice-platform/lattice/pkg/events/schema"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/pkg/testinfra/leakcheck"
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

func TestSubscriberRetriesThenParksPoisonInDLQ(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nc, js, err := natsjs.Connect(testinfra.NATS(t), "sub-test")
	require.NoError(t, err)
	defer nc.Close()
	require.NoError(t, natsjs.EnsureStreams(ctx, js))
	sub := natsjs.NewSubscriber(js, slog.New(slog.DiscardHandler))
	sub.MaxDeliver, sub.RetryDelay = 3, 10*time.Millisecond

	var attempts atomic.Int32
	good := make(chan string, 1)
	subCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = sub.Subscribe(subCtx, "test-consumer", []string{"events.test.>"}, func(_ context.Context, e ports.Event) error {
			if e.Subject == "events.test.poison" {
				attempts.Add(1)
				return errors.New("cannot handle this")
			}
			good <- e.ID
			return nil
		})
	}()
	defer func() { stop(); <-done }()
	pub := natsjs.NewPublisher(js, 5*time.Second)
	for _, e := range []ports.Event{{ID: "p1", Subject: "events.test.poison", Payload: []byte(`{"x":1}`)}, {ID: "g1", Subject: "events.test.good", Payload: []byte(`{}`)}} {
		require.NoError(t, pub.PublishBatch(ctx, []ports.Event{e})[0])
	}
	require.Equal(t, "g1", <-good)

	dlq, err := js.Stream(ctx, "DLQ")
	require.NoError(t, err)
	deadline := time.Now().Add(20 * time.Second)
	for {
		info, err := dlq.Info(ctx)
		require.NoError(t, err)
		if info.State.Msgs == 1 {
			break
		}
		require.True(t, time.Now().Before(deadline), "the poison message was not parked")
		time.Sleep(10 * time.Millisecond)
	}
	require.EqualValues(t, 3, attempts.Load(), "tried MaxDeliver times")
	reg := prometheus.NewRegistry()
	require.NoError(t, natsjs.RegisterStreamSize(reg, js, "DLQ"))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	require.Len(t, mfs, 1)
	require.Equal(t, "lattice_stream_messages", mfs[0].GetName())
	require.InDelta(t, 1, mfs[0].GetMetric()[0].GetGauge().GetValue(), 0, "the DLQ's size is a metric")
	parked, err := dlq.GetLastMsgForSubject(ctx, "dlq.test-consumer")
	require.NoError(t, err)
	require.Equal(t, `{"x":1}`, string(parked.Data))
	require.Equal(t, "cannot handle this", parked.Header.Get("Lattice-Error"))
	require.Equal(t, "events.test.poison", parked.Header.Get("Lattice-Original-Subject"))
}

func TestAuditTrailStoresOnTheAuditStream(t *testing.T) {
	t.Parallel()
	ctx, js := connectWithStreams(t)
	trail := natsjs.NewAuditTrail(natsjs.NewPublisher(js, 5*time.Second), "processing")
	require.NoError(t, trail.Record(ctx, ports.AuditEntry{Actor: "root", Action: "job.reindex", Target: "resource/r1",
		Details: map[string]any{"job": "j1"}}))
	stream, err := js.Stream(ctx, "AUDIT")
	require.NoError(t, err)
	msg, err := stream.GetLastMsgForSubject(ctx, "audit.processing")
	require.NoError(t, err)
	env, err := events.Decode(msg.Data)
	require.NoError(t, err)
	require.Equal(t, "lattice/processing", env.Source)
	require.Equal(t, msg.Header.Get(jetstream.MsgIDHeader), env.ID)
	var rec schema.AuditRecord
	require.NoError(t, json.Unmarshal(env.Data, &rec))
	require.Equal(t, "root", rec.Actor)
	require.Equal(t, "job.reindex", rec.Action)
	require.Equal(t, "resource/r1", rec.Target)
	require.Equal(t, map[string]any{"job": "j1"}, *rec.Details)
}

// connectWithStreams connects to a JetStream server with Lattice's streams
// and a 20-second deadline for the test.
func connectWithStreams(t *testing.T) (context.Context, jetstream.JetStream) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	nc, js, err := natsjs.Connect(testinfra.NATS(t), "test")
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	require.NoError(t, natsjs.EnsureStreams(ctx, js))
	return ctx, js
}

// TestWorkQueueEndsAnAttemptAtItsDeadline: a handler stuck on one job gets
// its context ended at JobTimeout, so the only worker slot goes on to the
// next job, and the stuck job is offered again.
func TestWorkQueueEndsAnAttemptAtItsDeadline(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nc, js, err := natsjs.Connect(testinfra.NATS(t), "test")
	require.NoError(t, err)
	defer nc.Close()
	q, err := natsjs.NewWorkQueue(ctx, js, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	q.AckWait, q.JobTimeout = 2*time.Second, 300*time.Millisecond
	require.NoError(t, q.Enqueue(ctx, "extract_file", "stuck", "stuck"))
	require.NoError(t, q.Enqueue(ctx, "extract_file", "ordinary", "ordinary"))

	type attempt struct {
		job string
		err error
	}
	attempts := make(chan attempt, 16)
	workCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- q.Work(workCtx, 1, func(ctx context.Context, job string) natsjs.Verdict {
			if job == "stuck" {
				<-ctx.Done() // a parser that only the deadline stops
				attempts <- attempt{job, ctx.Err()}
				return natsjs.Verdict{RetryAfter: 10 * time.Millisecond}
			}
			attempts <- attempt{job, nil}
			return natsjs.Verdict{Done: true}
		})
	}()
	first := <-attempts
	require.Equal(t, attempt{"stuck", context.DeadlineExceeded}, first)
	seen := map[string]int{}
	for seen["ordinary"] == 0 || seen["stuck"] == 0 {
		select {
		case a := <-attempts:
			seen[a.job]++
		case <-ctx.Done():
			t.Fatalf("after the deadline the slot was not reused: %v", seen)
		}
	}
	stop()
	require.NoError(t, <-done)
}

// TestStreamsAreMadeWithTheConfiguredReplicas checks that WithReplicas
// reaches the server: a single server refuses three replicas, which it
// would not be asked for without the wrapper.
func TestStreamsAreMadeWithTheConfiguredReplicas(t *testing.T) {
	ctx, js := connectWithStreams(t)
	cfg := jetstream.StreamConfig{Name: "REPLICATED", Subjects: []string{"replicated.>"}}
	_, err := natsjs.WithReplicas(js, 3).CreateOrUpdateStream(ctx, cfg)
	require.ErrorContains(t, err, "replicas > 1 not supported in non-clustered mode")
	_, err = natsjs.WithReplicas(js, 3).CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "replicated"})
	require.ErrorContains(t, err, "replicas > 1 not supported")
	s, err := natsjs.WithReplicas(js, 1).CreateOrUpdateStream(ctx, cfg)
	require.NoError(t, err, "one replica: the configuration as given")
	require.Equal(t, 1, s.CachedInfo().Config.Replicas)
}

// TestChunkSetsAreReadFromTheLeader: the chunk store answers reads from
// its stream's leader only, however often it is opened.
func TestChunkSetsAreReadFromTheLeader(t *testing.T) {
	ctx, js := connectWithStreams(t)
	for range 2 {
		obs, err := natsjs.OpenChunkBucket(ctx, js)
		require.NoError(t, err)
		require.NotNil(t, obs)
		s, err := js.Stream(ctx, "OBJ_"+natsjs.ChunkBucket)
		require.NoError(t, err)
		require.False(t, s.CachedInfo().Config.AllowDirect)
	}
}

// TestUnansweredPublishesDoNotStallTheConnection: acks that never come
// (here a plain subscriber takes the messages and stays silent, as a
// stream that lost its leader would) are given up after AsyncAckTimeout,
// so more than MaxAsyncPending of them cannot stop the publisher for good.
func TestUnansweredPublishesDoNotStallTheConnection(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	nc, js := embeddedBus(ctx, t)
	silent, err := nc.SubscribeSync("silent.>")
	require.NoError(t, err)
	defer func() { _ = silent.Unsubscribe() }()

	pub := natsjs.NewPublisher(js, 50*time.Millisecond)
	unanswered := make([]ports.Event, natsjs.MaxAsyncPending+100)
	for i := range unanswered {
		unanswered[i] = ports.Event{ID: fmt.Sprintf("silent-%d", i), Subject: "silent.x", Payload: []byte(`{}`)}
	}
	failed := 0
	for _, err := range pub.PublishBatch(ctx, unanswered) {
		if err != nil {
			failed++
		}
	}
	require.Equal(t, len(unanswered), failed, "no ack, no success")

	start := time.Now()
	testinfra.Within(t, natsjs.AsyncAckTimeout+20*time.Second, "a publish to a stream succeeds again", func() bool {
		errs := pub.PublishBatch(ctx, []ports.Event{{ID: "after-" + time.Now().String(), Subject: "events.x", Payload: []byte(`{}`)}})
		return errs[0] == nil
	})
	t.Logf("publishing resumed %s after the unanswered batch", time.Since(start).Round(time.Millisecond))
}

// TestPublishCarriesTheEventsTraceContext: an event's stored trace context
// reaches the message as lower-case W3C headers, in the same trace (the
// publish's own span is the new parent), whatever the global propagator.
func TestPublishCarriesTheEventsTraceContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, js := embeddedBus(ctx, t)

	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	events := []ports.Event{
		{ID: "traced", Subject: "events.x", Payload: []byte(`{}`), TraceParent: parent, TraceState: "vendor=opaque"},
		{ID: "untraced", Subject: "events.x", Payload: []byte(`{}`)},
	}
	for _, err := range natsjs.NewPublisher(js, 5*time.Second).PublishBatch(ctx, events) {
		require.NoError(t, err)
	}
	stream, err := js.Stream(ctx, "EVENTS")
	require.NoError(t, err)
	traced, err := stream.GetMsg(ctx, 1)
	require.NoError(t, err)
	got := traced.Header.Get("traceparent")
	require.Regexp(t, `^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-0[01]$`, got, "the event's trace continues")
	require.Equal(t, "vendor=opaque", traced.Header.Get("tracestate"))
	untraced, err := stream.GetMsg(ctx, 2)
	require.NoError(t, err)
	// No trace, no header; or, once a test of the package has installed an
	// SDK tracer provider (testinfra.SampledSpans), a trace of its own that
	// is not sampled.
	if h := untraced.Header.Get("traceparent"); h != "" {
		require.NotContains(t, h, "4bf92f3577b34da6a3ce929d0e0e4736", "it does not join the other event's trace")
		require.Regexp(t, `^00-[0-9a-f]{32}-[0-9a-f]{16}-00$`, h, "an untraced event starts no sampled trace")
	}
}

// embeddedBus starts a server of the test's own, with the streams, and
// connects to it; both are closed when the test ends.
func embeddedBus(ctx context.Context, t *testing.T) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	srv, err := natsjs.StartEmbedded(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	nc, js, err := natsjs.Connect(srv.URL(), "test")
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	require.NoError(t, natsjs.EnsureStreams(ctx, js))
	return nc, js
}

// TestCloseStopsAStreamBeingCreated: a client that sends a stream's create
// request and leaves at once, as one whose EnsureStreams is cancelled does,
// must not leave the stream's store running after Close. nats-server 2.15
// would, if it shut down while serving the request (see natsjs.Shutdown).
// Not parallel: it looks at every goroutine in the process. A goroutine on
// its way out when Close returns is not a leak, and under load it may not
// have been scheduled yet, so the check retries for a while (goleak's
// backoff); a store left running would stay, its loop ticks every 2 minutes.
func TestCloseStopsAStreamBeingCreated(t *testing.T) {
	for round := range 30 {
		before := goleak.IgnoreCurrent()
		srv, err := natsjs.StartEmbedded(t.TempDir())
		require.NoError(t, err)
		nc, err := nats.Connect(srv.URL())
		require.NoError(t, err)
		create, err := json.Marshal(jetstream.StreamConfig{Name: "HALF", Subjects: []string{"half.>"}, Storage: jetstream.FileStorage})
		require.NoError(t, err)
		require.NoError(t, nc.PublishRequest("$JS.API.STREAM.CREATE.HALF", nats.NewInbox(), create))
		require.NoError(t, nc.Flush())
		nc.Close()
		srv.Close()
		require.NoError(t, leakcheck.Find(before), "round %d: a goroutine outlived its server", round)
	}
}

// TestShutdownWaitsNoLongerThanItsLimit: a client that never leaves holds
// Shutdown back for the wait it was given, not longer, and the server is
// stopped afterwards all the same.
func TestShutdownWaitsNoLongerThanItsLimit(t *testing.T) {
	t.Parallel()
	srv, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	require.NoError(t, err)
	go srv.Start()
	require.True(t, srv.ReadyForConnections(10*time.Second))
	nc, err := nats.Connect(srv.ClientURL(), nats.NoReconnect())
	require.NoError(t, err)
	defer nc.Close()

	const wait = 300 * time.Millisecond
	start := time.Now()
	natsjs.Shutdown(srv, wait)
	took := time.Since(start)
	require.GreaterOrEqual(t, took, wait, "it waited for the client")
	require.Less(t, took, natsjs.ShutdownWait, "it gave up at its limit")
	require.False(t, srv.Running())
}
