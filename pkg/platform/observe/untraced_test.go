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
	ctx, header := observe.UntracedRequest(context.Background())
	sc := trace.SpanContextFromContext(ctx)
	require.True(t, sc.IsValid())
	require.False(t, sc.IsSampled())
	parsed := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(),
		propagation.HeaderCarrier(http.Header{"Traceparent": {header}})))
	require.Equal(t, sc.TraceID(), parsed.TraceID(), header)
	require.Equal(t, sc.SpanID(), parsed.SpanID(), header)
	require.False(t, parsed.IsSampled())
	_, other := observe.UntracedRequest(context.Background())
	require.NotEqual(t, header, other)
}
