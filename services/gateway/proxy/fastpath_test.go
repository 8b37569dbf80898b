package proxy_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/fastupstream"
	"github.com/lattice-platform/lattice/pkg/adapters/tokenbucket"
	"github.com/lattice-platform/lattice/pkg/events/schema"
	"github.com/lattice-platform/lattice/pkg/platform/fastfront"
	"github.com/lattice-platform/lattice/pkg/platform/observe"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/services/gateway/gatewaysvc"
	"github.com/lattice-platform/lattice/services/gateway/proxy"
	"github.com/lattice-platform/lattice/services/gateway/routing"
)

// usageLog keeps the usage records a gateway makes.
type usageLog struct {
	mu   sync.Mutex
	recs []schema.UsageRecord
}

func (u *usageLog) Record(r schema.UsageRecord) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.recs = append(u.recs, r)
}

func (u *usageLog) all() []schema.UsageRecord {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]schema.UsageRecord(nil), u.recs...)
}

// panicky is tokens, except that "boom" panics.
type panicky struct{ tokens }

func (p panicky) Verify(ctx context.Context, bearer string) (ports.Identity, error) {
	if bearer == "boom" {
		panic("the verifier broke")
	}
	return p.tokens.Verify(ctx, bearer)
}

// fastEnv is a proxy.FastPath in a fast front, with a net/http handler
// behind it that counts what it is handed, and an upstream that reports
// what it gets.
type fastEnv struct {
	url    string
	slow   atomic.Int64
	seen   chan *http.Request
	usage  usageLog
	logs   testinfra.LogBuffer
	metric *observe.Metrics
}

// dial opens a connection to the front, closed when the test ends, for
// writing a request as a client may put it on the wire.
func (e *fastEnv) dial(t *testing.T) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func fastSetup(t *testing.T) *fastEnv {
	t.Helper()
	e := &fastEnv{seen: make(chan *http.Request, 16)}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r = r.Clone(context.Background())
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		e.seen <- r
		w.Header().Set("X-Request-Id", "the upstream's own")
		teapot(w)
	}))
	t.Cleanup(up.Close)
	routes := filepath.Join(t.TempDir(), "routes.yaml")
	require.NoError(t, os.WriteFile(routes, []byte(routesYAML+
		"  - { prefix: /v1/small, upstream: resource, auth: public, class: default, timeout: 5s, max_body_bytes: 10 }\n"), 0o600))
	cfg, err := routing.Load(routes, gatewaysvc.KnownUpstreams)
	require.NoError(t, err)
	u, _ := url.Parse(up.URL)
	log := observe.NewLogger(&e.logs, slog.LevelInfo, "") // the services' logger: ids from the context
	g := proxy.New(cfg, map[string][]*url.URL{"resource": {u}}, panicky{}, tokenbucket.New(), 1<<20, log)
	client := fastupstream.New(fastupstream.Options{DropResponseHeaders: proxy.DroppedResponseHeaders})
	t.Cleanup(client.CloseIdleConnections)
	g.UseFastUpstream(client)
	g.SetUsage(&e.usage)
	e.metric = observe.NewMetrics("gateway")
	shed, err := proxy.NewShedder(10, e.metric.Registry)
	require.NoError(t, err)
	fp := &proxy.FastPath{Gateway: g, Own: func(_, path string) bool { return path == "/own" }, Shed: shed, Metrics: e.metric, Log: log}
	front := fastfront.New(fp.Serve, &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.slow.Add(1)
		_, _ = io.WriteString(w, "net/http")
	})}, fastfront.Options{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- front.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, front.Shutdown(ctx))
		require.ErrorIs(t, <-done, http.ErrServerClosed)
	})
	e.url = "http://" + l.Addr().String()
	return e
}

func (e *fastEnv) do(t *testing.T, method, path, body string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	require.NoError(t, err)
	if body == "" {
		req.Body = nil
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

// A plain proxied request is served on the fast path with everything the
// net/http path gives it: the upstream is told the client, host, scheme,
// request id and a trace of its own, and gets the credential but not the
// client's hop-by-hop or forged forwarding headers; the client gets the
// upstream's answer less hop-by-hop and dropped headers, with the rate
// limits; the request is counted, logged and recorded for usage.
func TestTheFastPathServesAPlainRequestAsNetHTTPWould(t *testing.T) {
	t.Parallel()
	e := fastSetup(t)
	resp, body := e.do(t, "POST", "/v1/maybe/echo?q=1", `{"a":1}`, "Authorization", "Bearer good", "X-Request-ID", "req-1",
		"Connection", "X-Client-Hop", "X-Client-Hop", "strip me", "X-Forwarded-For", "6.6.6.6", "Content-Type", "application/json")
	require.Equal(t, http.StatusTeapot, resp.StatusCode)
	require.Equal(t, "short and stout", body)
	require.Equal(t, "yes", resp.Header.Get("X-Upstream"))
	require.Equal(t, []string{"a=1", "b=2"}, resp.Header.Values("Set-Cookie"))
	require.Empty(t, resp.Header.Get("X-Hop"))
	require.Equal(t, []string{"req-1"}, resp.Header.Values("X-Request-Id"), "the gateway's id, not the upstream's")
	require.Equal(t, `"per-ip";q=1000;w=60`, resp.Header.Get("RateLimit-Policy"))
	require.Contains(t, resp.Header.Get("RateLimit"), `"per-ip";r=999;t=`)
	require.Zero(t, e.slow.Load(), "served on the fast path")

	up := <-e.seen
	require.Equal(t, "/v1/maybe/echo", up.URL.Path)
	require.Equal(t, "q=1", up.URL.RawQuery)
	b, _ := io.ReadAll(up.Body)
	require.Equal(t, `{"a":1}`, string(b))
	require.Equal(t, "Bearer good", up.Header.Get("Authorization"))
	require.Equal(t, "application/json", up.Header.Get("Content-Type"))
	require.Empty(t, up.Header.Get("X-Client-Hop"))
	require.Equal(t, []string{"127.0.0.1"}, up.Header.Values("X-Forwarded-For"), "the forged hop is dropped")
	require.Equal(t, strings.TrimPrefix(e.url, "http://"), up.Header.Get("X-Forwarded-Host"))
	require.Equal(t, "http", up.Header.Get("X-Forwarded-Proto"))
	require.Equal(t, "req-1", up.Header.Get("X-Request-Id"))
	require.Regexp(t, regexp.MustCompile(`^00-[0-9a-f]{32}-[0-9a-f]{16}-00$`), up.Header.Get("Traceparent"))

	recs := e.usage.all()
	require.Len(t, recs, 1)
	require.Equal(t, "/v1/maybe", recs[0].Route)
	require.Equal(t, http.StatusTeapot, recs[0].Status)
	require.EqualValues(t, 7, recs[0].BytesIn)
	require.EqualValues(t, 15, recs[0].BytesOut)
	require.Equal(t, "req-1", recs[0].RequestId)
	require.Equal(t, "u1", *recs[0].Identity)
	var line struct {
		Msg, Method, Path, Client string
		Status, Bytes             int
		RequestID                 string `json:"request_id"`
		TraceID                   string `json:"trace_id"`
	}
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(e.logs.String())), &line), e.logs.String())
	require.Equal(t, "http request", line.Msg)
	require.Equal(t, "req-1", line.RequestID)
	require.Equal(t, up.Header.Get("Traceparent")[3:35], line.TraceID, "the trace the upstream was told of")
	require.Equal(t, "POST /v1/maybe/echo 127.0.0.1 418 15", strings.Join([]string{line.Method, line.Path, line.Client, itoa(int64(line.Status)), itoa(int64(line.Bytes))}, " "))
	require.Equal(t, 1.0, metricValue(t, e.metric.Registry, "lattice_http_requests_total", "route", "/v1/maybe/*", "status", "418"))
}

// Hop-by-hop and forwarding headers in any case, written on the wire as
// a client may (net/http's client would put their names in canonical
// form), do not reach the upstream from the fast path.
func TestTheFastPathDropsHopByHopHeadersInAnyCase(t *testing.T) {
	t.Parallel()
	e := fastSetup(t)
	conn := e.dial(t)
	_, err := io.WriteString(conn, "GET /v1/maybe/x HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer good\r\n"+
		"keep-alive: timeout=5\r\nPROXY-CONNECTION: keep-alive\r\nte: trailers\r\nproxy-authorization: Basic eDp5\r\n"+
		"x-forwarded-for: 6.6.6.6\r\nFORWARDED: for=6.6.6.6\r\nX-Kept: yes\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusTeapot, resp.StatusCode)
	require.Zero(t, e.slow.Load(), "served on the fast path")

	up := <-e.seen
	require.Equal(t, "yes", up.Header.Get("X-Kept"))
	for _, k := range []string{"Keep-Alive", "Proxy-Connection", "Te", "Proxy-Authorization", "Forwarded"} {
		require.Empty(t, up.Header.Values(k), k)
	}
	require.Equal(t, []string{"127.0.0.1"}, up.Header.Values("X-Forwarded-For"), "the forged hop is dropped")
}

// The fast path sends the server's request itself upstream, changed in
// place (fastupstream.UseRequest): a request on a kept-alive connection
// carries nothing of the one before it, and a client's Connection: close
// still closes the client's connection, not the gateway's to the
// upstream.
func TestTheFastPathKeepsEachClientRequestApart(t *testing.T) {
	t.Parallel()
	e := fastSetup(t)
	conn := e.dial(t)
	br := bufio.NewReader(conn)
	send := func(head string) *http.Response {
		t.Helper()
		_, err := io.WriteString(conn, "GET /v1/maybe/x HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer good\r\n"+head+"\r\n")
		require.NoError(t, err)
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		_, err = io.Copy(io.Discard, resp.Body)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, http.StatusTeapot, resp.StatusCode)
		return resp
	}
	first := send("X-Request-ID: one\r\nX-Forwarded-For: 6.6.6.6\r\nX-Only-First: yes\r\n")
	require.False(t, first.Close)
	up := <-e.seen
	require.Equal(t, "yes", up.Header.Get("X-Only-First"))
	require.Equal(t, []string{"127.0.0.1"}, up.Header.Values("X-Forwarded-For"))

	last := send("Connection: close\r\n")
	require.True(t, last.Close, "the client asked to close")
	up = <-e.seen
	require.Empty(t, up.Header.Values("X-Only-First"), "nothing of the request before")
	require.Equal(t, []string{"127.0.0.1"}, up.Header.Values("X-Forwarded-For"))
	require.NotEqual(t, "one", up.Header.Get("X-Request-Id"), "an id of its own")
	require.False(t, up.Close, "the gateway's connection to the upstream stays open")
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	rest, err := io.ReadAll(br)
	require.NoError(t, err, "the gateway closed the client's connection")
	require.Empty(t, rest)
	require.Zero(t, e.slow.Load(), "served on the fast path")
}

// The fast path's refusals are the net/http path's problems: a missing
// credential, a body over the route's cap, the limiter's 429 and a panic.
func TestTheFastPathRefusesWithProblems(t *testing.T) {
	t.Parallel()
	e := fastSetup(t)
	resp, body := e.do(t, "GET", "/v1/private/x", "", "X-Request-ID", "req-2")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	require.Equal(t, `Bearer realm="lattice"`, resp.Header.Get("WWW-Authenticate"))
	var p struct {
		Status           int
		Instance, Detail string
		RequestID        string `json:"request_id"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &p))
	require.Equal(t, http.StatusUnauthorized, p.Status)
	require.Equal(t, "/v1/private/x", p.Instance)
	require.Equal(t, "req-2", p.RequestID)

	resp, _ = e.do(t, "POST", "/v1/small/x", strings.Repeat("x", 11))
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, "the route's cap of 10 bytes")
	resp, _ = e.do(t, "POST", "/v1/small/x", strings.Repeat("x", 10))
	require.Equal(t, http.StatusTeapot, resp.StatusCode, "a body at the cap passes")
	<-e.seen

	for range 3 {
		resp, _ = e.do(t, "GET", "/v1/tight/x", "")
		require.Equal(t, http.StatusTeapot, resp.StatusCode)
		<-e.seen
	}
	resp, _ = e.do(t, "GET", "/v1/tight/x", "")
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	require.NotEmpty(t, resp.Header.Get("Retry-After"))
	require.Contains(t, resp.Header.Get("RateLimit"), "r=0")

	resp, body = e.do(t, "GET", "/v1/private/x", "", "Authorization", "Bearer boom")
	require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	require.NotContains(t, body, "the verifier broke", "a panic's message stays in the log")
	require.Contains(t, e.logs.String(), "the verifier broke")
	resp, _ = e.do(t, "GET", "/v1/open/x", "")
	require.Equal(t, http.StatusTeapot, resp.StatusCode, "the gateway still serves")
	require.Zero(t, e.slow.Load(), "all on the fast path")
}

// What the fast path does not do goes to net/http: the gateway's own
// paths, a trace to continue, an upgrade, a path whose decoded form
// differs from the raw one, a path no route matches, and a body longer
// than the fast front reads.
func TestTheFastPathDeclinesWhatItDoesNotDo(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, method, path, body string
		header                   []string
	}{
		{"own endpoint", "GET", "/own", "", nil},
		{"trace to continue", "GET", "/v1/open/x", "", []string{"Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}},
		{"upgrade", "GET", "/v1/open/x", "", []string{"Connection", "Upgrade", "Upgrade", "websocket"}},
		{"encoded path", "GET", "/v1/open/a%2Fb", "", nil},
		{"dot segments", "GET", "/v1/open/../private/x", "", nil},
		{"no route", "GET", "/nowhere", "", nil},
		{"long body", "POST", "/v1/open/x", strings.Repeat("x", 65<<10), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := fastSetup(t)
			req, err := http.NewRequest(tc.method, e.url+tc.path, strings.NewReader(tc.body))
			require.NoError(t, err)
			req.URL.Opaque = tc.path // sent as written, dot segments included
			for i := 0; i+1 < len(tc.header); i += 2 {
				req.Header.Set(tc.header[i], tc.header[i+1])
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, "net/http", string(b))
			require.EqualValues(t, 1, e.slow.Load())
			require.Empty(t, e.usage.all(), "the fast path recorded nothing")
		})
	}
}
