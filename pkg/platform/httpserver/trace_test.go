package httpserver_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/platform/httpserver"
	"github.com/lattice-platform/lattice/pkg/platform/observe"
)

// TestTraceparentIsContinued checks that an incoming W3C traceparent
// becomes the trace id in the service's logs.
func TestTraceparentIsContinued(t *testing.T) {
	shutdown, err := observe.SetupTracing(context.Background(), "test", "dev")
	require.NoError(t, err)
	t.Cleanup(func() { _ = shutdown(context.Background()) })
	var logs bytes.Buffer
	log := observe.NewLogger(&logs, slog.LevelInfo, "test")
	h := httpserver.Handler(httpserver.Config{}, httpserver.Service{
		Name: "test", API: chi.NewRouter(), Metrics: observe.NewMetrics("test"), Logger: log,
	})
	req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	h.ServeHTTP(httptest.NewRecorder(), req)
	require.Contains(t, logs.String(), `"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"`)

	logs.Reset()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/healthz", nil))
	require.Regexp(t, `"trace_id":"[0-9a-f]{32}"`, logs.String(), "a request without traceparent starts a trace")
}
