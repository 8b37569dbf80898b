package observe_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/lattice-platform/lattice/pkg/platform/observe"
)

// The traceparent an untraced request sends upstream names the trace its
// context (and so its log lines) carries, unsampled, and parses as W3C
// trace context; two requests get two traces.
func TestUntracedRequestGetsATraceOfItsOwn(t *testing.T) {
	ctx, sc := observe.UntracedRequest(context.Background())
	require.Equal(t, sc, trace.SpanContextFromContext(ctx))
	header := string(observe.AppendTraceparent(nil, sc))
	require.Len(t, header, 55)
	require.True(t, sc.IsValid())
	require.False(t, sc.IsSampled())
	parsed := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(),
		propagation.HeaderCarrier(http.Header{"Traceparent": {header}})))
	require.Equal(t, sc.TraceID(), parsed.TraceID(), header)
	require.Equal(t, sc.SpanID(), parsed.SpanID(), header)
	require.False(t, parsed.IsSampled())
	_, other := observe.UntracedRequest(context.Background())
	require.NotEqual(t, sc.TraceID(), other.TraceID())

	sampled := sc.WithTraceFlags(trace.FlagsSampled)
	require.Equal(t, header[:53]+"01", string(observe.AppendTraceparent([]byte("kept"), sampled))[4:], "the flags, after what b held")
}
