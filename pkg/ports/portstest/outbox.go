package portstest

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"

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

// OutboxTraceContext checks that an outbox keeps, with each event, the
// W3C trace context of the operation that added it (or the event's own),
// and hands it to the relay; an event added outside any trace has none.
func OutboxTraceContext(t *testing.T, newStore func(t *testing.T) OutboxStore) {
	s := newStore(t)
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:  trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}, TraceFlags: trace.FlagsSampled,
		TraceState: must(trace.ParseTraceState("vendor=opaque")),
	})
	traced := trace.ContextWithSpanContext(context.Background(), sc)
	const wantParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	event := func(subject string) ports.Event {
		return ports.Event{ID: uuid.Must(uuid.NewV7()).String(), Subject: subject, Payload: []byte(`{}`)}
	}
	own := event("audit.own")
	own.TraceParent = "00-11111111111111111111111111111111-2222222222222222-01"
	require.NoError(t, s.Add(traced, event("audit.one")))
	require.NoError(t, s.Add(traced, event("audit.two"), own))
	require.NoError(t, s.Add(context.Background(), event("audit.none")))

	pending, err := s.Pending(context.Background(), 10)
	require.NoError(t, err)
	got := map[string][2]string{}
	for _, p := range pending {
		got[p.Subject] = [2]string{p.TraceParent, p.TraceState}
	}
	require.Equal(t, map[string][2]string{
		"audit.one":  {wantParent, "vendor=opaque"},
		"audit.two":  {wantParent, "vendor=opaque"},
		"audit.own":  {own.TraceParent, ""},
		"audit.none": {"", ""},
	}, got)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
