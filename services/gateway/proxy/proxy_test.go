package proxy_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/valyala/fasthttp"

	"github.com/lattice-platform/lattice/pkg/adapters/tokenbucket"
	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/platform/httpserver"
	"github.com/lattice-platform/lattice/pkg/platform/observe"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/gateway/gatewaysvc"
	"github.com/lattice-platform/lattice/services/gateway/routing"
)

// tokens is a fake verifier: "good" is user u1, anything else is refused.
type tokens struct{}

func (tokens) Verify(_ context.Context, bearer string) (ports.Identity, error) {
	if bearer == "good" {
		return ports.Identity{Subject: "u1", Scopes: []string{"resources:read"}}, nil
	}
	return ports.Identity{}, fault.New(fault.Unauthenticated, "bad token")
}

const routesYAML = `
classes:
  default: { per_ip: { rate: 1000, period: 1m, burst: 1000 }, per_identity: { rate: 1000, period: 1m, burst: 1000 } }
  tight:   { per_ip: { rate: 3, period: 1m, burst: 3 }, per_identity: { rate: 1000, period: 1m, burst: 1000 } }
routes:
  - { prefix: /v1/open,    upstream: resource, auth: public,        class: default, timeout: 5s }
  - { prefix: /v1/maybe,   upstream: resource, auth: optional-auth, class: default, timeout: 5s }
  - { prefix: /v1/private, upstream: resource, auth: auth-required, class: default, timeout: 5s }
  - { prefix: /v1/tight,   upstream: resource, auth: public,        class: tight,   timeout: 5s }
  - { prefix: /v1/slow,    upstream: resource, auth: public,        class: default, timeout: 200ms }
  - { prefix: /v1/down,    upstream: auth,     auth: public,        class: default, timeout: 5s }
  - { prefix: /v1/big,     upstream: resource, auth: public,        class: default, timeout: 5s, max_body_bytes: 67108864 }
`

type env struct {
	gateway  string        // its base URL
	fast     *atomic.Int64 // requests the fast front served itself (FastFront)
	upstream *httptest.Server
	seen     chan *http.Request
	release  chan struct{}
	svc      *gatewaysvc.Service
	routes   string
}

// FastFront names the gateway with fasthttp serving plain requests in
// front of net/http (gatewaysvc.ServerFastHTTP), for eachClient and setup.
const FastFront = "fastfront"

// eachClient runs f once with each upstream client the gateway can use
// (gatewaysvc.Config.UpstreamClient), and once with the fast front, as
// subtests named after them.
func eachClient(t *testing.T, f func(t *testing.T, client string)) {
	t.Helper()
	for name, client := range map[string]string{"fasthttp": gatewaysvc.UpstreamFastHTTP, "nethttp": gatewaysvc.UpstreamNetHTTP, FastFront: FastFront} {
		t.Run(name, func(t *testing.T) { f(t, client) })
	}
}

// setup starts an upstream and a gateway in front of it, which uses the
// upstream client named in client (default: the gateway's default), or
// the fast front (FastFront).
func setup(t *testing.T, maxInFlight int, client ...string) *env {
	t.Helper()
	e := &env{seen: make(chan *http.Request, 100), release: make(chan struct{})}
	mux := chi.NewRouter()
	mux.HandleFunc("/v1/open/echo", func(w http.ResponseWriter, r *http.Request) {
		e.seen <- r.Clone(context.Background())
		teapot(w)
	})
	mux.HandleFunc("/v1/*", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("/v1/slow/*", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-e.release:
		case <-r.Context().Done():
		}
	})
	// Its head comes at once and its body after twice the route's
	// timeout, which bounds the wait for the head only.
	mux.HandleFunc("/v1/slow/drip", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("head"))
		w.(http.Flusher).Flush()
		select {
		case <-time.After(400 * time.Millisecond):
			_, _ = w.Write([]byte(" and tail"))
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/v1/big/upload", func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, _ := io.Copy(h, r.Body)
		_, _ = w.Write([]byte(strings.Join([]string{itoa(n), string(h.Sum(nil))}, " ")))
	})
	mux.HandleFunc("/v1/big/stream", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("first chunk"))
		w.(http.Flusher).Flush()
		select { // the rest only after the client has seen the first chunk
		case <-e.release:
			_, _ = w.Write([]byte(" and the rest"))
		case <-r.Context().Done():
			e.seen <- r // report the abort
		}
	})
	e.upstream = httptest.NewServer(mux)
	t.Cleanup(e.upstream.Close)
	t.Cleanup(func() {
		select {
		case <-e.release:
		default:
			close(e.release)
		}
	})

	e.routes = filepath.Join(t.TempDir(), "routes.yaml")
	require.NoError(t, os.WriteFile(e.routes, []byte(routesYAML), 0o600))
	cfg := gatewaysvc.Config{
		RoutesFile: e.routes, Verifier: tokens{}, Limiter: tokenbucket.New(), MaxInFlight: maxInFlight, UpstreamClient: strings.Join(client, ""),
		Upstreams: map[string]string{"resource": e.upstream.URL, "auth": "http://127.0.0.1:1"},
	}
	svc, err := gatewaysvc.New(withClient(cfg), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	e.svc = svc
	e.gateway, e.fast = serveGateway(t, svc.HTTP)
	return e
}

// withClient is cfg with its UpstreamClient as eachClient names it: the
// fast front is the fasthttp client behind the fasthttp server.
func withClient(cfg gatewaysvc.Config) gatewaysvc.Config {
	if cfg.UpstreamClient == FastFront {
		cfg.UpstreamClient, cfg.Server = gatewaysvc.UpstreamFastHTTP, gatewaysvc.ServerFastHTTP
	}
	return cfg
}

// serveGateway serves svc on a loopback port as lattice serve does, with
// its fast front when it has one, until t ends; it returns the base URL
// and the count of requests the fast front served itself.
func serveGateway(t *testing.T, svc httpserver.Service) (string, *atomic.Int64) {
	t.Helper()
	srv, err := httpserver.Bind(httpserver.Config{Addr: "127.0.0.1:0"}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	srv.Handle(httpserver.Handler(httpserver.Config{}, svc))
	fast := new(atomic.Int64)
	if svc.Fast != nil {
		h := svc.Fast(nil)
		srv.HandleFast(func(ctx *fasthttp.RequestCtx, whole bool) bool {
			served := h(ctx, whole)
			if served {
				fast.Add(1)
			}
			return served
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return "http://" + srv.Addr().String(), fast
}

// teapot is the echo upstream's answer: a status, a body, a header of
// its own, two cookies, and a hop-by-hop header that must not pass.
func teapot(w http.ResponseWriter) {
	w.Header().Set("X-Upstream", "yes")
	w.Header().Add("Set-Cookie", "a=1")
	w.Header().Add("Set-Cookie", "b=2")
	w.Header().Set("Connection", "X-Hop")
	w.Header().Set("X-Hop", "must not pass")
	w.WriteHeader(http.StatusTeapot)
	_, _ = w.Write([]byte("short and stout"))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func get(t *testing.T, url, token string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	return resp
}

func TestProxyPreservesResponsesAndAddsRequestContext(t *testing.T) {
	t.Parallel()
	eachClient(t, func(t *testing.T, client string) {
		e := setup(t, 100, client)
		req, _ := http.NewRequest(http.MethodGet, e.gateway+"/v1/open/echo?q=1", nil)
		req.Header.Set("Authorization", "Bearer anything")
		req.Header.Set("Connection", "X-Client-Hop")
		req.Header.Set("X-Client-Hop", "strip me")
		req.Header.Set("X-Custom", "kept")
		req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
		shutdown, err := observe.SetupTracing(context.Background(), "test", "dev")
		require.NoError(t, err)
		defer func() { _ = shutdown(context.Background()) }()
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()

		require.Equal(t, http.StatusTeapot, resp.StatusCode)
		require.Equal(t, "short and stout", string(body))
		require.Equal(t, "yes", resp.Header.Get("X-Upstream"))
		require.Equal(t, []string{"a=1", "b=2"}, resp.Header.Values("Set-Cookie"))
		require.Empty(t, resp.Header.Get("X-Hop"), "hop-by-hop headers named in Connection are stripped")
		require.Len(t, resp.Header.Values("X-Request-Id"), 1)
		require.NotEmpty(t, resp.Header.Get("RateLimit"))

		up := <-e.seen
		require.Equal(t, "/v1/open/echo", up.URL.Path)
		require.Equal(t, "q=1", up.URL.RawQuery)
		require.Equal(t, "kept", up.Header.Get("X-Custom"))
		require.Equal(t, "Bearer anything", up.Header.Get("Authorization"), "the credential is forwarded")
		require.Empty(t, up.Header.Get("X-Client-Hop"))
		require.Equal(t, resp.Header.Get("X-Request-Id"), up.Header.Get("X-Request-ID"))
		require.Contains(t, up.Header.Get("traceparent"), "4bf92f3577b34da6a3ce929d0e0e4736", "the trace continues upstream")
		require.Equal(t, "127.0.0.1", up.Header.Get("X-Forwarded-For"))
	})
}

func TestAuthModes(t *testing.T) {
	t.Parallel()
	eachClient(t, func(t *testing.T, client string) {
		e := setup(t, 100, client)
		for _, tc := range []struct {
			path, token string
			want        int
		}{
			{"/v1/open/x", "", 200}, {"/v1/open/x", "garbage", 200},
			{"/v1/maybe/x", "", 200}, {"/v1/maybe/x", "good", 200}, {"/v1/maybe/x", "garbage", 401},
			{"/v1/private/x", "", 401}, {"/v1/private/x", "garbage", 401}, {"/v1/private/x", "good", 200},
		} {
			resp := get(t, e.gateway+tc.path, tc.token)
			resp.Body.Close()
			require.Equal(t, tc.want, resp.StatusCode, "%s with %q", tc.path, tc.token)
			if tc.want == 401 {
				require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
			}
		}
	})
}

func TestRateLimitAnswers429WithHeaders(t *testing.T) {
	t.Parallel()
	eachClient(t, func(t *testing.T, client string) {
		e := setup(t, 100, client)
		for i := range 3 {
			resp := get(t, e.gateway+"/v1/tight/x", "")
			resp.Body.Close()
			require.Equal(t, 200, resp.StatusCode, "request %d", i+1)
			require.Equal(t, `"per-ip";q=3;w=60`, resp.Header.Get("RateLimit-Policy"))
		}
		resp := get(t, e.gateway+"/v1/tight/x", "")
		resp.Body.Close()
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
		require.NotEmpty(t, resp.Header.Get("Retry-After"))
		require.Contains(t, resp.Header.Get("RateLimit"), "r=0")

		require.Equal(t, 1.0, metricValue(t, e.svc.HTTP.Metrics.Registry, "lattice_gateway_rate_limited_total", "budget", "per-ip"))

		// The tight class's budget is its own: the same address is not
		// limited on a route of another class.
		other := get(t, e.gateway+"/v1/open/x", "")
		other.Body.Close()
		require.Equal(t, http.StatusOK, other.StatusCode)
		require.NotContains(t, other.Header.Get("RateLimit"), "r=0")
	})
}

func TestUpstreamFailures(t *testing.T) {
	t.Parallel()
	eachClient(t, func(t *testing.T, client string) {
		e := setup(t, 100, client)
		down := get(t, e.gateway+"/v1/down/x", "")
		down.Body.Close()
		require.Equal(t, http.StatusBadGateway, down.StatusCode)
		require.Equal(t, "application/problem+json", down.Header.Get("Content-Type"))
		slow := get(t, e.gateway+"/v1/slow/x", "")
		slow.Body.Close()
		require.Equal(t, http.StatusGatewayTimeout, slow.StatusCode)
		drip := get(t, e.gateway+"/v1/slow/drip", "")
		body, err := io.ReadAll(drip.Body)
		drip.Body.Close()
		require.NoError(t, err)
		require.Equal(t, "head and tail", string(body), "a body may take longer than the route's timeout")
		none := get(t, e.gateway+"/nowhere", "")
		none.Body.Close()
		require.Equal(t, http.StatusNotFound, none.StatusCode)
	})
}

func TestLargeBodiesStreamBothWays(t *testing.T) {
	t.Parallel()
	eachClient(t, func(t *testing.T, client string) {
		e := setup(t, 100, client)
		payload := make([]byte, 40<<20)
		_, _ = rand.Read(payload)
		resp, err := http.Post(e.gateway+"/v1/big/upload", "application/octet-stream", bytes.NewReader(payload))
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		sum := sha256.Sum256(payload)
		require.Equal(t, itoa(int64(len(payload)))+" "+string(sum[:]), string(body), "40 MiB arrive intact")

		// The first chunk reaches the client while the upstream is still
		// writing: the gateway does not buffer the response.
		resp = get(t, e.gateway+"/v1/big/stream", "")
		first := make([]byte, len("first chunk"))
		_, err = io.ReadFull(resp.Body, first)
		require.NoError(t, err)
		require.Equal(t, "first chunk", string(first))
		close(e.release)
		rest, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, " and the rest", string(rest))
	})
}

func TestClientAbortReachesTheUpstream(t *testing.T) {
	t.Parallel()
	eachClient(t, func(t *testing.T, client string) {
		e := setup(t, 100, client)
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.gateway+"/v1/big/stream", nil)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		first := make([]byte, 5)
		_, err = io.ReadFull(resp.Body, first)
		require.NoError(t, err)
		cancel()
		resp.Body.Close()
		select {
		case r := <-e.seen:
			require.Error(t, r.Context().Err(), "the upstream request is cancelled")
		case <-time.After(10 * time.Second):
			t.Fatal("the upstream never saw the abort")
		}
	})
}

func TestLoadShedding(t *testing.T) {
	t.Parallel()
	eachClient(t, func(t *testing.T, client string) {
		e := setup(t, 1, client)
		var wg sync.WaitGroup
		wg.Add(1)
		started := make(chan struct{})
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, e.gateway+"/v1/big/stream", nil)
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				close(started)
				_, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
		}()
		<-started // one request holds the only slot
		shed := get(t, e.gateway+"/v1/open/x", "")
		shed.Body.Close()
		require.Equal(t, http.StatusServiceUnavailable, shed.StatusCode)
		require.Equal(t, "1", shed.Header.Get("Retry-After"))
		reg := e.svc.HTTP.Metrics.Registry
		require.Equal(t, 1.0, metricValue(t, reg, "lattice_gateway_shed_total"))
		require.Equal(t, 1.0, metricValue(t, reg, "lattice_gateway_inflight"), "the held request")
		close(e.release)
		wg.Wait()
		ok := get(t, e.gateway+"/v1/open/x", "")
		ok.Body.Close()
		require.Equal(t, 200, ok.StatusCode, "admitted again once the slot is free")
	})
}

func TestReloadSwapsRoutes(t *testing.T) {
	t.Parallel()
	eachClient(t, func(t *testing.T, client string) {
		e := setup(t, 100, client)
		resp := get(t, e.gateway+"/v1/renamed/x", "")
		resp.Body.Close()
		require.Equal(t, 404, resp.StatusCode)
		require.NoError(t, os.WriteFile(e.routes, []byte(strings.Replace(routesYAML, "/v1/open,", "/v1/renamed,", 1)), 0o600))
		require.NoError(t, e.svc.Reload())
		resp = get(t, e.gateway+"/v1/renamed/x", "")
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)

		require.NoError(t, os.WriteFile(e.routes, []byte("routes: [ {prefix: nope} ]"), 0o600))
		require.Error(t, e.svc.Reload(), "a broken file is refused")
		resp = get(t, e.gateway+"/v1/renamed/x", "")
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode, "and the current table stays")
	})
}

func TestDefaultRoutesLoad(t *testing.T) {
	t.Parallel()
	cfg, err := routing.Load("", gatewaysvc.KnownUpstreams)
	require.NoError(t, err)
	r, err := cfg.Table.Match("/v1/resources/123/files")
	require.NoError(t, err)
	require.Equal(t, "resource", r.Upstream)
}

func TestOversizedBodyAndBadCredentialsAreProblems(t *testing.T) {
	t.Parallel()
	eachClient(t, func(t *testing.T, client string) {
		e := setup(t, 100, client)
		resp, err := http.Post(e.gateway+"/v1/open/x", "application/json", strings.NewReader(strings.Repeat("x", 2<<20)))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
		require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))

		req, _ := http.NewRequest(http.MethodGet, e.gateway+"/v1/private/x", nil)
		req.Header.Set("Authorization", "Basic dXNlcjpwYXNz")
		resp, err = http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

		resp = get(t, e.gateway+"/v1/open/x", "")
		resp.Body.Close()
		// The middleware counts a request after its handler returns, which can be
		// just after the client has read the whole answer: poll, don't assume.
		admin := httptest.NewServer(httpserver.AdminHandler(e.svc.HTTP))
		defer admin.Close()
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			m, err := http.Get(admin.URL + "/metrics")
			if !assert.NoError(c, err) {
				return
			}
			body, _ := io.ReadAll(m.Body)
			m.Body.Close()
			assert.Contains(c, string(body), `route="/v1/open/*"`, "metrics are labelled by route prefix")
		}, 10*time.Second, 10*time.Millisecond)

		// The public port does not show them.
		pub := get(t, e.gateway+"/metrics", "")
		body, _ := io.ReadAll(pub.Body)
		pub.Body.Close()
		require.Equal(t, http.StatusNotFound, pub.StatusCode)
		require.NotContains(t, string(body), "lattice_http_requests_total")
	})
}

// metricValue is the value of the series of name in reg whose labels
// include the given name/value pairs (the sum, if several match).
func metricValue(t *testing.T, reg prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	var sum float64
	found := false
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				if !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool { return l.GetName() == labels[i] && l.GetValue() == labels[i+1] }) {
					continue series
				}
			}
			found = true
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	require.True(t, found, "no series %s%v", name, labels)
	return sum
}
