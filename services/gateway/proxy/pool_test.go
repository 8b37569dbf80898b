package proxy_test

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/tokenbucket"
	"github.com/lattice-platform/lattice/pkg/platform/httpserver"
	"github.com/lattice-platform/lattice/services/gateway/gatewaysvc"
)

// TestAnUpstreamIsAPoolOfReplicas: resource has two replicas, one of which
// refuses connections. Idempotent requests that meet it go to the other
// one and all succeed; a POST that meets it is answered 502 and never
// repeated; after three failures it is ejected, so every request reaches
// the live replica; the pools' state is in the metrics.
func TestAnUpstreamIsAPoolOfReplicas(t *testing.T) {
	t.Parallel()
	eachClient(t, func(t *testing.T, client string) {
		var posts atomic.Int32
		live := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				posts.Add(1)
			}
			_, _ = io.WriteString(w, `{"ok":true}`)
		}))
		defer live.Close()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		dead := "http://" + ln.Addr().String()
		require.NoError(t, ln.Close()) // nothing listens there now: connections are refused

		svc, err := gatewaysvc.New(withClient(gatewaysvc.Config{Verifier: anyUser{}, Limiter: tokenbucket.New(),
			Upstreams: map[string]string{"resource": dead + "," + live.URL}, UpstreamClient: client}), slog.New(slog.DiscardHandler))
		require.NoError(t, err)
		gwURL, _ := serveGateway(t, svc.HTTP)
		admin := httptest.NewServer(httpserver.AdminHandler(svc.HTTP))
		defer admin.Close()

		do := func(method string) int {
			var body io.Reader
			if method == http.MethodPost {
				body = strings.NewReader(`{}`)
			}
			req, _ := http.NewRequest(method, gwURL+"/v1/resources", body)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			return resp.StatusCode
		}
		for range 4 {
			require.Equal(t, http.StatusOK, do(http.MethodGet), "an idempotent request goes to the live replica")
		}
		refused := 0
		for range 4 {
			if do(http.MethodPost) == http.StatusBadGateway {
				refused++
			}
		}
		require.Less(t, refused, 4)
		require.EqualValues(t, 4-refused, posts.Load(), "a POST is sent once, never repeated")
		for range 6 {
			require.Equal(t, http.StatusOK, do(http.MethodPost), "the dead replica is out of rotation")
		}

		resp, err := http.Get(admin.URL + "/metrics")
		require.NoError(t, err)
		metrics, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{
			`lattice_gateway_upstream_replicas{state="ejected",upstream="resource"} 1`,
			`lattice_gateway_upstream_replicas{state="in_rotation",upstream="resource"} 1`,
			`lattice_gateway_upstream_ejections_total{upstream="resource"} 1`,
			`lattice_gateway_upstream_retries_total{upstream="resource"}`,
		} {
			require.Contains(t, string(metrics), want)
		}
	})
}
