package main

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/lattice-platform/lattice/pkg/testinfra/leakcheck"
)

// TestMain fails the package's tests if they leave goroutines running.
func TestMain(m *testing.M) { leakcheck.Main(m) }

// Each request counts in the window it was sent in, and each window's
// P95 is its own.
func TestWindowsSummariseEachPartOfAJourneyApart(t *testing.T) {
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	w := windows{start: start}
	for i := range 100 {
		// 0–15 s: 1 ms each; 15–30 s: 10 ms; 30–45 s: nothing; 45–60 s: 100 ms.
		for _, part := range []struct {
			at      time.Duration
			latency time.Duration
		}{{0, time.Millisecond}, {15 * time.Second, 10 * time.Millisecond}, {45 * time.Second, 100 * time.Millisecond}} {
			w.add(&vegeta.Result{Code: 200, Timestamp: start.Add(part.at + time.Duration(i)*100*time.Millisecond), Latency: part.latency})
		}
	}
	w.close()
	require.Len(t, w.parts, 4)
	require.Equal(t, []uint64{100, 100, 0, 100}, []uint64{w.parts[0].Requests, w.parts[1].Requests, w.parts[2].Requests, w.parts[3].Requests})
	require.Equal(t, "P95 by 15s: 1ms 10ms - 100ms", w.String())
}

// A limited targeter ends the attack after exactly n requests, and its end
// is not counted as a request.
func TestCorpusUploadsExactlyN(t *testing.T) {
	var got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	tr := func(t *vegeta.Target) error {
		t.Method, t.URL = "POST", srv.URL
		return nil
	}
	m, _ := attack(limited(tr, 37), 500, 0)
	require.Equal(t, uint64(37), m.Requests)
	require.Equal(t, 1.0, m.Success)
	require.Equal(t, int64(37), got.Load())
}
