package observe_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"

	"github.com/lattice-platform/lattice/pkg/platform/observe"
)

func TestLogsCarryRequestAndTraceIDs(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := observe.NewLogger(&buf, slog.LevelInfo, "auth")
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid}))
	ctx = observe.WithRequestID(ctx, "req-7")
	log.With("component", "x").InfoContext(ctx, "hello", "n", 1)

	var rec map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &rec))
	require.Equal(t, "hello", rec["msg"])
	require.Equal(t, "auth", rec["service"])
	require.Equal(t, "x", rec["component"])
	require.Equal(t, "req-7", rec["request_id"])
	require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", rec["trace_id"])

	buf.Reset()
	log.Info("no context")
	require.NoError(t, json.Unmarshal(buf.Bytes(), &rec))
	require.NotContains(t, buf.String(), "request_id")
}
