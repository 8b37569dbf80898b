package observe_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/lattice-platform/lattice/pkg/platform/observe"
)

// The traceparent an untraced request sends upstream names the trace its
// context (and so its log lines) carries, unsampled, and parses as W3C
// trace context; two requests get two traces.
func TestUntracedRequestGetsATraceOfItsOwn(t *testing.T) {
	var u observe.Untraced
	sc := u.Start("req-1")
	require.Equal(t, sc, trace.SpanContextFromContext(&u))
	header := string(observe.AppendTraceparent(nil, sc))
	require.Len(t, header, 55)
	require.True(t, sc.IsValid())
	require.False(t, sc.IsSampled())
	parsed := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(),
		propagation.HeaderCarrier(http.Header{"Traceparent": {header}})))
	require.Equal(t, sc.TraceID(), parsed.TraceID(), header)
	require.Equal(t, sc.SpanID(), parsed.SpanID(), header)
	require.False(t, parsed.IsSampled())
	var v observe.Untraced
	other := v.Start("req-2")
	require.NotEqual(t, sc.TraceID(), other.TraceID())
	require.NotEqual(t, sc.SpanID(), other.SpanID())

	sampled := sc.WithTraceFlags(trace.FlagsSampled)
	require.Equal(t, header[:53]+"01", string(observe.AppendTraceparent([]byte("kept"), sampled))[4:], "the flags, after what b held")
}

// An Untraced answers whoever asks, directly or through a context made
// from it, as the two contexts it stands for would: the request id, the
// span (recording nothing) and its span context, and the logger's ids;
// a zero one carries neither id. Reading it allocates nothing.
func TestUntracedAnswersAsTheTracersContext(t *testing.T) {
	var u observe.Untraced
	sc := u.Start("req-\"7\"")
	made := observe.WithRequestID(trace.ContextWithSpanContext(context.Background(), sc), "req-\"7\"")
	derived, cancel := context.WithTimeout(&u, time.Minute)
	defer cancel()
	for name, ctx := range map[string]context.Context{"itself": &u, "derived": derived} {
		require.Equal(t, "req-\"7\"", observe.RequestID(ctx), name)
		require.Equal(t, sc, trace.SpanContextFromContext(ctx), name)
		span := trace.SpanFromContext(ctx)
		require.False(t, span.IsRecording(), name)
		require.Equal(t, sc, span.SpanContext(), name)
		require.Equal(t, logged(t, made), logged(t, ctx), name)
	}
	require.Nil(t, u.Done())
	require.NoError(t, u.Err())
	_, has := u.Deadline()
	require.False(t, has)
	require.Nil(t, u.Value("another key"))

	var zero observe.Untraced
	require.Empty(t, observe.RequestID(&zero))
	require.False(t, trace.SpanContextFromContext(&zero).IsValid())
	require.Equal(t, logged(t, context.Background()), logged(t, &zero))

	// The request's state holds it: only starting and reading it count.
	v := new(observe.Untraced)
	allocs := testing.AllocsPerRun(100, func() {
		v.Start("req-8")
		if observe.RequestID(v) == "" || !trace.SpanContextFromContext(v).IsValid() {
			t.Fatal("the ids are gone")
		}
	})
	require.Zero(t, allocs)
}

// logged is the line ctx's ids give a logger of NewLogger's, by slog's
// handler and by the access log's Line, with the time left out.
func logged(t *testing.T, ctx context.Context) string {
	t.Helper()
	var buf bytes.Buffer
	log := observe.NewLogger(&buf, slog.LevelInfo, "gateway")
	at := time.Date(2026, 12, 4, 5, 6, 7, 0, time.UTC)
	log.LogAttrs(ctx, slog.LevelInfo, "slow", slog.String("route", "r"))
	observe.NewLine(slog.LevelInfo, "fast", "route").Write(ctx, log, at, slog.StringValue("r"))
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	require.Len(t, lines, 2)
	var out []byte
	for _, l := range lines {
		out = append(out, l[bytes.Index(l, []byte(`,"level"`)):]...)
		out = append(out, '\n')
	}
	return string(out)
}
