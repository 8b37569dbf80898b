package httpserver_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/platform/health"
	"github.com/lattice-platform/lattice/pkg/platform/httpserver"
	"github.com/lattice-platform/lattice/pkg/platform/observe"
)

func handler(t *testing.T, checks health.Checks) http.Handler {
	t.Helper()
	return httpserver.Handler(httpserver.Config{MaxBodyBytes: 16}, service(checks))
}

func service(checks health.Checks) httpserver.Service {
	api := chi.NewRouter()
	api.Get("/v1/items/{id}", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("item")) })
	api.Post("/v1/echo", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		_, _ = w.Write(b)
	})
	api.Get("/v1/panic", func(http.ResponseWriter, *http.Request) { panic("boom: secret=xyz") })
	return httpserver.Service{
		Name: "test", API: api, Checks: checks, Metrics: observe.NewMetrics("test"), Logger: slog.New(slog.DiscardHandler),
	}
}

func TestRequestIDIsKeptOrMade(t *testing.T) {
	t.Parallel()
	h := handler(t, nil)
	req := httptest.NewRequest(http.MethodGet, "/v1/items/1", nil)
	req.Header.Set("X-Request-ID", "from-gateway-42")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, "from-gateway-42", rec.Header().Get("X-Request-ID"))

	req = httptest.NewRequest(http.MethodGet, "/v1/items/1", nil)
	req.Header.Set("X-Request-ID", "bad id\nwith newline")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Regexp(t, `^[0-9a-f]{32}$`, rec.Header().Get("X-Request-ID"))
}

// TestMadeRequestIDsDoNotRepeat: analytics takes a usage record with an id
// it has seen for a repeat, so ids made in a burst must all differ.
func TestMadeRequestIDsDoNotRepeat(t *testing.T) {
	t.Parallel()
	format := regexp.MustCompile(`^[0-9a-f]{32}$`)
	seen := map[string]bool{}
	for range 100_000 {
		id := httpserver.RequestIDOf("")
		require.True(t, format.MatchString(id), id)
		require.False(t, seen[id], "id %s made twice", id)
		seen[id] = true
	}
}

func TestBodyCap(t *testing.T) {
	t.Parallel()
	h := handler(t, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/echo", strings.NewReader(strings.Repeat("x", 17))))
	require.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/echo", strings.NewReader("small")))
	require.Equal(t, "small", rec.Body.String())
}

func TestPanicBecomesProblem(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	handler(t, nil).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/panic", nil))
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	require.NotContains(t, rec.Body.String(), "secret=xyz")
}

func TestReadinessAndMetrics(t *testing.T) {
	t.Parallel()
	down := true
	svc := service(health.Checks{"db": func(context.Context) error {
		if down {
			return context.DeadlineExceeded
		}
		return nil
	}})
	h := httpserver.Handler(httpserver.Config{}, svc)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.Contains(t, rec.Body.String(), `"db":"unavailable"`)
	down = false
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	require.Equal(t, http.StatusOK, rec.Code)

	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/v1/items/123", nil))
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.NotContains(t, rec.Body.String(), "lattice_http_requests_total", "the public handler does not serve metrics")
	rec = httptest.NewRecorder()
	httpserver.AdminHandler(svc).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body := rec.Body.String()
	require.Contains(t, body, `lattice_http_requests_total{method="GET",route="/v1/items/{id}",service="test",status="200"} 1`)
	require.NotContains(t, body, "/v1/items/123", "raw paths never become labels")
	require.Contains(t, body, "lattice_http_request_duration_seconds_bucket")
}

func TestGracefulShutdownDrainsInFlight(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	started := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		_, _ = w.Write([]byte("finished"))
	})
	srv, err := httpserver.Listen(httpserver.Config{Addr: "127.0.0.1:0", ShutdownTimeout: 10 * time.Second}, h, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()

	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + srv.Addr().String())
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-started
	cancel() // shutdown begins with a request in flight
	close(release)
	require.Equal(t, "finished", <-got)
	require.NoError(t, <-served)
}

// TestProfilesOnlyWhenAsked: the admin listener serves Go's profiles only
// when wrapped by WithProfiling (ADMIN_PPROF=true), and keeps serving its
// own paths either way; the public handler never serves them.
func TestProfilesOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	svc := service(nil)
	get := func(h http.Handler, path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec
	}
	require.Equal(t, http.StatusNotFound, get(httpserver.AdminHandler(svc), "/debug/pprof/").Code)
	require.Equal(t, http.StatusNotFound, get(httpserver.Handler(httpserver.Config{}, svc), "/debug/pprof/").Code)
	profiled := httpserver.WithProfiling(httpserver.AdminHandler(svc))
	index := get(profiled, "/debug/pprof/")
	require.Equal(t, http.StatusOK, index.Code)
	require.Contains(t, index.Body.String(), "goroutine")
	heap := get(profiled, "/debug/pprof/heap?debug=1")
	require.Equal(t, http.StatusOK, heap.Code)
	require.Contains(t, heap.Body.String(), "heap profile")
	require.Equal(t, http.StatusOK, get(profiled, "/healthz").Code)
	require.Contains(t, get(profiled, "/metrics").Body.String(), "lattice_")
}

func TestAccessLogWritesOneLinePerRequestAtInfo(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelWarn} {
		var out strings.Builder
		svc := service(nil)
		svc.Logger = observe.NewLogger(&out, level, "test")
		h := httpserver.Handler(httpserver.Config{}, svc)
		req := httptest.NewRequest(http.MethodGet, "/v1/items/7", nil)
		req.Header.Set("X-Request-ID", "req-42")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, http.StatusOK, rec.Code)

		if level > slog.LevelInfo {
			require.Empty(t, out.String(), "no access line above info")
			continue
		}
		var line map[string]any
		require.NoError(t, json.Unmarshal([]byte(out.String()), &line), out.String())
		require.Equal(t, "http request", line["msg"])
		require.Equal(t, "INFO", line["level"])
		require.Equal(t, "GET", line["method"])
		require.Equal(t, "/v1/items/7", line["path"])
		require.Equal(t, "192.0.2.1", line["client"])
		require.InDelta(t, 200, line["status"], 0)
		require.InDelta(t, 4, line["bytes"], 0)
		require.Equal(t, "req-42", line["request_id"])
		require.Equal(t, "test", line["service"])
		require.NotContains(t, line, "source", "the line names no caller")
	}
}
