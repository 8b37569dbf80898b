package gatewaysvc_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/tokenbucket"
	"github.com/lattice-platform/lattice/pkg/platform/httpserver"
	"github.com/lattice-platform/lattice/services/gateway/gatewaysvc"
)

// TestTheLimitersMetricsAreTheGateways: a limiter with metrics of its own
// (Redis behind the per-process fallback) shows them on the gateway's
// metrics page.
func TestTheLimitersMetricsAreTheGateways(t *testing.T) {
	t.Parallel()
	limiter := tokenbucket.NewFallback(tokenbucket.New(), slog.New(slog.DiscardHandler))
	svc, err := gatewaysvc.New(gatewaysvc.Config{Limiter: limiter, Upstreams: map[string]string{}}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	admin := httptest.NewServer(httpserver.AdminHandler(svc.HTTP))
	defer admin.Close()
	resp, err := http.Get(admin.URL + "/metrics")
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Contains(t, string(page), "lattice_ratelimit_fallback 0")
}
