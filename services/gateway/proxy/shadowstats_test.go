package proxy

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/tokenbucket"
	"github.com/lattice-platform/lattice/services/gateway/routing"
)

// TestShadowStatsKeepTheLatestDiffsOnly: a route's status keeps at most
// MaxRecentDiffs differences, however many there were.
func TestShadowStatsKeepTheLatestDiffsOnly(t *testing.T) {
	side := func(name string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"side":%q,"path":%q}`, name, r.URL.Path)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	g := shadowGateway(t, `
  - { prefix: /v1/shadow, upstream: search, auth: public, class: default, timeout: 5s, shadow: { upstream: legacy } }
`, map[string]string{"search": side("search"), "legacy": side("legacy")})
	g.EnableShadow(prometheus.NewRegistry(), 64)
	srv := httptest.NewServer(g)
	defer srv.Close()

	const sent = MaxRecentDiffs + 3
	for i := range sent {
		get(t, fmt.Sprintf("%s/v1/shadow/%d", srv.URL, i))
	}
	deadline := time.Now().Add(10 * time.Second)
	for g.ShadowStats("/v1/shadow").Compared < sent {
		require.True(t, time.Now().Before(deadline), "the comparisons did not finish")
		time.Sleep(10 * time.Millisecond)
	}
	st := g.ShadowStats("/v1/shadow")
	require.Zero(t, st.Matched)
	require.Len(t, st.Recent, MaxRecentDiffs)
	seen := map[string]bool{}
	for _, d := range st.Recent {
		seen[d.Path] = true
	}
	require.Len(t, seen, MaxRecentDiffs, "distinct diffs are kept, one per request")
}

// TestShadowStatsCountRequestsThatCouldNotBeCompared: a mirror that fails
// and an answer too big to keep are counted, so that every shadowed request
// ends in exactly one outcome.
func TestShadowStatsCountRequestsThatCouldNotBeCompared(t *testing.T) {
	primary := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/v1/big" {
			_, _ = w.Write([]byte(`"` + strings.Repeat("x", shadowLimit) + `"`))
			return
		}
		_, _ = w.Write([]byte(`{}`))
	}))
	defer primary.Close()
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close() // the mirror's address now refuses connections
	g := shadowGateway(t, `
  - { prefix: /v1/big, upstream: search, auth: public, class: default, timeout: 5s, shadow: { upstream: legacy } }
  - { prefix: /v1/down, upstream: search, auth: public, class: default, timeout: 5s, shadow: { upstream: legacy } }
`, map[string]string{"search": primary.URL, "legacy": gone.URL})
	g.EnableShadow(prometheus.NewRegistry(), 64)
	srv := httptest.NewServer(g)
	defer srv.Close()

	for _, path := range []string{"/v1/big", "/v1/down", "/v1/down"} {
		require.Equal(t, http.StatusOK, get(t, srv.URL+path), "the primary answers whatever the mirror does")
	}
	deadline := time.Now().Add(10 * time.Second)
	for g.ShadowStats("/v1/down").Failed < 2 {
		require.True(t, time.Now().Before(deadline), "the failed mirrors were not counted: %+v", g.ShadowStats("/v1/down"))
		time.Sleep(10 * time.Millisecond)
	}
	require.Equal(t, ShadowStats{Skipped: 1}, g.ShadowStats("/v1/big"))
	down := g.ShadowStats("/v1/down")
	require.Zero(t, down.Compared)
	require.Zero(t, down.Skipped)
}

// TestShadowMirrorsConnectAsTheProxyDoes: a Lattice upstream served over
// TLS with a CA only the gateway's transport trusts (the deployment's
// internal CA) is mirrored to and compared, not counted as failed.
func TestShadowMirrorsConnectAsTheProxyDoes(t *testing.T) {
	answer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"path":%q}`, r.URL.Path)
	})
	primary := httptest.NewServer(answer)
	defer primary.Close()
	lattice := httptest.NewTLSServer(answer)
	defer lattice.Close()
	g := shadowGateway(t, `
  - { prefix: /v1/tls, upstream: legacy, auth: public, class: default, timeout: 5s, shadow: { upstream: lattice } }
`, map[string]string{"legacy": primary.URL, "lattice": lattice.URL})
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = lattice.Client().Transport.(*http.Transport).TLSClientConfig.Clone() // trusts the test CA
	g.UseTransport(transport)
	g.EnableShadow(prometheus.NewRegistry(), 64)
	srv := httptest.NewServer(g)
	defer srv.Close()

	require.Equal(t, http.StatusOK, get(t, srv.URL+"/v1/tls/a"))
	deadline := time.Now().Add(10 * time.Second)
	for st := g.ShadowStats("/v1/tls"); st.Compared+st.Failed+st.Skipped < 1; st = g.ShadowStats("/v1/tls") {
		require.True(t, time.Now().Before(deadline), "the mirror has no outcome")
		time.Sleep(10 * time.Millisecond)
	}
	require.Equal(t, ShadowStats{Compared: 1, Matched: 1}, g.ShadowStats("/v1/tls"))
}

// shadowGateway is a gateway over routes (lines of its table's routes:
// list, in class default, whose budgets never refuse), with each upstream
// at one base URL.
func shadowGateway(t *testing.T, routes string, upstreams map[string]string) *Gateway {
	t.Helper()
	known, urls := map[string]bool{}, map[string][]*url.URL{}
	for name, raw := range upstreams {
		u, err := url.Parse(raw)
		require.NoError(t, err)
		known[name], urls[name] = true, []*url.URL{u}
	}
	cfg, err := routing.Parse([]byte(`
classes:
  default: { per_ip: { rate: 100000, period: 1m, burst: 100000 }, per_identity: { rate: 100000, period: 1m, burst: 100000 } }
routes:`+routes), known)
	require.NoError(t, err)
	return New(cfg, urls, nil, tokenbucket.New(), 1<<20, slog.New(slog.DiscardHandler))
}

// get sends a GET, reads the answer and returns its status.
func get(t *testing.T, target string) int {
	t.Helper()
	resp, err := http.Get(target)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
