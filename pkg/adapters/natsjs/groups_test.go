package natsjs_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/pkg/testinfra"
)

// groupsSeen records what a group handler was given.
type groupsSeen struct {
	mu      sync.Mutex
	groups  [][]string     // event ids, group by group
	handled map[string]int // event id → deliveries
	next    chan struct{}  // a token per group handled
	result  func(id string) error
}

func newGroupsSeen(result func(id string) error) *groupsSeen {
	return &groupsSeen{handled: map[string]int{}, next: make(chan struct{}, 1000), result: result}
}

func (g *groupsSeen) handle(_ context.Context, events []ports.Event) []error {
	ids := make([]string, len(events))
	g.mu.Lock()
	for i, e := range events {
		ids[i] = e.ID
		g.handled[e.ID]++
	}
	g.groups = append(g.groups, ids)
	g.mu.Unlock()
	errs := make([]error, len(events))
	for i, id := range ids {
		errs[i] = g.result(id)
	}
	g.next <- struct{}{}
	return errs
}

func (g *groupsSeen) deliveries(id string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.handled[id]
}

// subscribeGroups runs sub.SubscribeGroups until the test ends.
func subscribeGroups(t *testing.T, ctx context.Context, sub *natsjs.Subscriber, durable, subjects string, max int,
	handle func(context.Context, []ports.Event) []error) {
	t.Helper()
	subCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- sub.SubscribeGroups(subCtx, durable, []string{subjects}, max, handle) }()
	t.Cleanup(func() {
		stop()
		require.NoError(t, <-done)
	})
}

func publish(t *testing.T, ctx context.Context, pub *natsjs.Publisher, subject string, ids ...string) {
	t.Helper()
	for _, id := range ids {
		require.NoError(t, pub.PublishBatch(ctx, []ports.Event{{ID: id, Subject: subject, Payload: []byte(`{"id":"` + id + `"}`)}})[0])
	}
}

// A backlog is handed over in groups of at most max, in stream order; each
// event is settled on its own result: the good ones are acknowledged once,
// and the one that keeps failing is retried and then parked on the DLQ
// without holding the others back.
func TestSubscribeGroupsHandsOverTheBacklogAndSettlesEachEvent(t *testing.T) {
	t.Parallel()
	ctx, js := connectWithStreams(t)
	sub := natsjs.NewSubscriber(js, slog.New(slog.DiscardHandler))
	sub.MaxDeliver, sub.RetryDelay = 3, 10*time.Millisecond
	pub := natsjs.NewPublisher(js, 5*time.Second)

	var backlog []string
	for i := range 20 {
		backlog = append(backlog, fmt.Sprintf("e%02d", i))
	}
	publish(t, ctx, pub, "events.groupstest.x", backlog...)
	seen := newGroupsSeen(func(id string) error {
		if id == "e07" {
			return errors.New("e07 cannot be handled")
		}
		return nil
	})
	subscribeGroups(t, ctx, sub, "groups-consumer", "events.groupstest.>", 8, seen.handle)

	require.Equal(t, `{"id":"e07"}`, waitParked(t, ctx, js, "dlq.groups-consumer"))
	require.Equal(t, 3, seen.deliveries("e07"), "the failing event was tried MaxDeliver times")
	seen.mu.Lock()
	defer seen.mu.Unlock()
	var firstTime []string
	for _, g := range seen.groups {
		require.LessOrEqual(t, len(g), 8, "no group is larger than max")
		for _, id := range g {
			if id != "e07" {
				firstTime = append(firstTime, id)
			}
		}
	}
	require.Equal(t, 8, len(seen.groups[0]), "the backlog was waiting: the first group is full")
	var want []string
	for _, id := range backlog {
		if id != "e07" {
			want = append(want, id)
		}
	}
	require.Equal(t, want, firstTime, "every other event handled once, in stream order")
}

// A lone event is handed over at once, not held back to fill a group.
func TestSubscribeGroupsHandsOverALoneEventAtOnce(t *testing.T) {
	t.Parallel()
	ctx, js := connectWithStreams(t)
	sub := natsjs.NewSubscriber(js, slog.New(slog.DiscardHandler))
	seen := newGroupsSeen(func(string) error { return nil })
	subscribeGroups(t, ctx, sub, "lone-consumer", "events.lonetest.>", 100, seen.handle)
	pub := natsjs.NewPublisher(js, 5*time.Second)
	for _, id := range []string{"first", "second"} {
		publish(t, ctx, pub, "events.lonetest.x", id)
		select {
		case <-seen.next:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s was not handed over", id)
		}
	}
	seen.mu.Lock()
	defer seen.mu.Unlock()
	require.Equal(t, [][]string{{"first"}, {"second"}}, seen.groups)
}

// A handler that answers for fewer events than it was given leaves their
// outcome unknown: every event of the group comes round again.
func TestSubscribeGroupsRedeliversAGroupWithoutAnAnswerForEach(t *testing.T) {
	t.Parallel()
	ctx, js := connectWithStreams(t)
	sub := natsjs.NewSubscriber(js, slog.New(slog.DiscardHandler))
	sub.RetryDelay = 10 * time.Millisecond
	pub := natsjs.NewPublisher(js, 5*time.Second)
	publish(t, ctx, pub, "events.shorttest.x", "a", "b")
	var mu sync.Mutex
	calls := 0
	got := make(chan []string, 10)
	subscribeGroups(t, ctx, sub, "short-consumer", "events.shorttest.>", 10, func(_ context.Context, events []ports.Event) []error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		var ids []string
		for _, e := range events {
			ids = append(ids, e.ID)
		}
		got <- ids
		if calls == 1 {
			return nil // no answer at all
		}
		return make([]error, len(events))
	})
	var all []string
	deadline := time.After(10 * time.Second)
	for len(all) < 4 {
		select {
		case ids := <-got:
			all = append(all, ids...)
		case <-deadline:
			t.Fatalf("handed over %v; want a and b twice", all)
		}
	}
	require.ElementsMatch(t, []string{"a", "b", "a", "b"}, all)
}

// waitParked waits until an event is parked under subject on the DLQ, and
// returns its payload.
func waitParked(t *testing.T, ctx context.Context, js jetstream.JetStream, subject string) string {
	t.Helper()
	dlq, err := js.Stream(ctx, "DLQ")
	require.NoError(t, err)
	var parked *jetstream.RawStreamMsg
	require.Eventually(t, func() bool {
		parked, err = dlq.GetLastMsgForSubject(ctx, subject)
		return err == nil
	}, 15*time.Second, 10*time.Millisecond, "nothing was parked on %s", subject)
	return string(parked.Data)
}

// Each event of a group is still traced in its own trace: a consumer span
// that is the publish's child and links to it, as Subscribe makes, so a
// trace followed across the bus does not stop where events were grouped.
func TestSubscribeGroupsTracesEachEventInItsOwnTrace(t *testing.T) {
	t.Parallel()
	exporter := testinfra.SampledSpans()
	ctx, js := connectWithStreams(t)
	sub := natsjs.NewSubscriber(js, slog.New(slog.DiscardHandler))
	pub := natsjs.NewPublisher(js, 5*time.Second)
	traces := map[string]string{} // event id → its trace id
	for i := range 3 {
		var tid [16]byte
		_, _ = rand.Read(tid[:])
		id := fmt.Sprintf("t%d", i)
		traces[id] = hex.EncodeToString(tid[:])
		e := ports.Event{ID: id, Subject: "events.grouptrace.x", Payload: []byte(`{}`),
			TraceParent: "00-" + traces[id] + "-00f067aa0ba902b7-01"}
		require.NoError(t, pub.PublishBatch(ctx, []ports.Event{e})[0])
	}
	seen := newGroupsSeen(func(string) error { return nil })
	subscribeGroups(t, ctx, sub, "grouptrace-consumer", "events.grouptrace.>", 10, seen.handle)
	<-seen.next
	seen.mu.Lock()
	require.Len(t, seen.groups[0], 3, "the three events were one group")
	seen.mu.Unlock()

	for id, tid := range traces {
		var publish, process []tracetest.SpanStub
		require.Eventually(t, func() bool {
			publish, process = nil, nil
			for _, s := range exporter.GetSpans() {
				if s.SpanContext.TraceID().String() != tid {
					continue
				}
				switch {
				case s.Name == "publish events.grouptrace.x" && s.SpanKind == trace.SpanKindProducer:
					publish = append(publish, s)
				case s.Name == "process events.grouptrace.x" && s.SpanKind == trace.SpanKindConsumer:
					process = append(process, s)
				}
			}
			return len(publish) == 1 && len(process) == 1
		}, 10*time.Second, 10*time.Millisecond, "%s: one publish and one process span in its trace", id)
		require.Equal(t, publish[0].SpanContext.SpanID(), process[0].Parent.SpanID(), "%s: processed as the publish's child", id)
		require.Len(t, process[0].Links, 1)
		require.Equal(t, publish[0].SpanContext.SpanID(), process[0].Links[0].SpanContext.SpanID())
	}
}

// A group whose handling outlasts AckWait is reported in progress, so the
// server does not offer its events to another subscriber of the consumer
// (a second replica, or the next pod of a rolling update) while it runs:
// each is handled once.
func TestSubscribeGroupsKeepsALongGroupFromBeingRedelivered(t *testing.T) {
	t.Parallel()
	ctx, js := connectWithStreams(t)
	pub := natsjs.NewPublisher(js, 5*time.Second)
	publish(t, ctx, pub, "events.longtest.x", "a", "b")
	seen := newGroupsSeen(func(id string) error {
		if id == "b" {
			<-time.After(2500 * time.Millisecond) // work that takes two and a half AckWaits
		}
		return nil
	})
	first := natsjs.NewSubscriber(js, slog.New(slog.DiscardHandler))
	natsjs.SetGroupAckWait(first, time.Second)
	subscribeGroups(t, ctx, first, "long-consumer", "events.longtest.>", 10, seen.handle)
	require.Eventually(t, func() bool { return seen.deliveries("a") == 1 }, 10*time.Second, time.Millisecond)
	second := natsjs.NewSubscriber(js, slog.New(slog.DiscardHandler))
	natsjs.SetGroupAckWait(second, time.Second)
	subscribeGroups(t, ctx, second, "long-consumer", "events.longtest.>", 10, seen.handle)
	<-seen.next // the long group
	publish(t, ctx, pub, "events.longtest.x", "marker")
	require.Eventually(t, func() bool { return seen.deliveries("marker") == 1 }, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, 1, seen.deliveries("a"), "not offered again while its group was handled")
	require.Equal(t, 1, seen.deliveries("b"))
}

// A group must have room for an event: a maximum under one is refused
// before any consumer is made.
func TestSubscribeGroupsRefusesAGroupWithoutRoom(t *testing.T) {
	t.Parallel()
	ctx, js := connectWithStreams(t)
	sub := natsjs.NewSubscriber(js, slog.New(slog.DiscardHandler))
	for _, max := range []int{0, -1} {
		err := sub.SubscribeGroups(ctx, "roomless-consumer", []string{"events.roomless.>"}, max,
			func(context.Context, []ports.Event) []error { return nil })
		require.ErrorContains(t, err, "a group needs room for an event")
	}
	stream, err := js.Stream(ctx, "EVENTS")
	require.NoError(t, err)
	_, err = stream.Consumer(ctx, "roomless-consumer")
	require.ErrorIs(t, err, jetstream.ErrConsumerNotFound, "no consumer was made")
}
