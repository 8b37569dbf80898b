package openaiembed_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/openaiembed"
	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/testinfra/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// fakeAPI answers like /v1/embeddings: each text's vector is [len(text),
// index], listed in reverse order; the first failures calls fail. Options
// configure the server before it starts.
func fakeAPI(t *testing.T, failures []int, options ...func(*http.Server)) (*httptest.Server, *atomic.Int32) {
	calls := &atomic.Int32{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(calls.Add(1))
		require.Equal(t, "Bearer sk-test", r.Header.Get("Authorization"))
		if n <= len(failures) {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(failures[n-1])
			return
		}
		var req struct {
			Model string   `json:"model"`
			Input []string `json:"input"`
		}
		require.NoError(t, json.NewDecoder(r.Body).Decode(&req))
		require.Equal(t, "nomic-embed-text", req.Model)
		type item struct {
			Index     int       `json:"index"`
			Embedding []float32 `json:"embedding"`
		}
		var data []item
		for i := len(req.Input) - 1; i >= 0; i-- {
			data = append(data, item{Index: i, Embedding: []float32{float32(len(req.Input[i])), float32(i)}})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"data": data})
	}))
	for _, o := range options {
		o(srv.Config)
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, calls
}

func embedder(url string) *openaiembed.Embedder {
	return openaiembed.New(openaiembed.Config{BaseURL: url, APIKey: "sk-test", Model: "nomic-embed-text", Dimensions: 2,
		BatchSize: 2, MaxRetries: 3, Backoff: time.Millisecond})
}

func TestBatchesRetriesAndKeepsOrder(t *testing.T) {
	t.Parallel()
	srv, calls := fakeAPI(t, []int{429, 503})
	vecs, err := embedder(srv.URL).Embed(context.Background(), []string{"a", "bb", "ccc", "dddd", "eeeee"})
	require.NoError(t, err)
	require.Equal(t, [][]float32{{1, 0}, {2, 1}, {3, 0}, {4, 1}, {5, 0}}, vecs, "in input order, though the server lists them reversed")
	require.EqualValues(t, 5, calls.Load(), "two retries, then three batches")
}

func TestClientErrorsAreNotRetried(t *testing.T) {
	t.Parallel()
	srv, calls := fakeAPI(t, []int{400})
	_, err := embedder(srv.URL).Embed(context.Background(), []string{"a"})
	require.True(t, fault.Of(err, fault.Invalid), "got %v", err)
	require.EqualValues(t, 1, calls.Load())
}

func TestPersistentFailureIsUnavailable(t *testing.T) {
	t.Parallel()
	srv, calls := fakeAPI(t, []int{500, 500, 500, 500, 500})
	_, err := embedder(srv.URL).Embed(context.Background(), []string{"a"})
	require.True(t, fault.Of(err, fault.Unavailable), "got %v", err)
	require.EqualValues(t, 4, calls.Load(), "one try and three retries")
}

func TestWrongDimensionsAreRefused(t *testing.T) {
	t.Parallel()
	srv, _ := fakeAPI(t, nil)
	e := openaiembed.New(openaiembed.Config{BaseURL: srv.URL, APIKey: "sk-test", Model: "nomic-embed-text", Dimensions: 768, Backoff: time.Millisecond})
	_, err := e.Embed(context.Background(), []string{"a"})
	require.ErrorContains(t, err, "768")
}

// The flake this guards against: another test's httptest.Server.Close
// closes the default transport's idle connections, and net/http can then
// report a request whose 400 had already arrived as a broken connection,
// which the embedder retries. An embedder's connections are its own, so
// closing the default transport's leaves them alone.
func TestConnectionsAreNotTheDefaultTransports(t *testing.T) {
	t.Parallel()
	var dialled atomic.Int32
	srv, calls := fakeAPI(t, nil, func(s *http.Server) {
		s.ConnState = func(_ net.Conn, state http.ConnState) {
			if state == http.StateNew {
				dialled.Add(1)
			}
		}
	})
	e := embedder(srv.URL)
	for range 3 {
		_, err := e.Embed(context.Background(), []string{"a"})
		require.NoError(t, err)
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	}
	require.EqualValues(t, 3, calls.Load())
	require.EqualValues(t, 1, dialled.Load(), "each request reused the embedder's one connection")
}
