package main

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// metricsServer serves a /metrics page that page returns, one call at a time.
func metricsServer(t *testing.T, page func(call int) string) string {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "/metrics", r.URL.Path)
		fmt.Fprint(w, page(int(calls.Add(1))))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func lag(consumer string, n float64) string {
	return fmt.Sprintf("# HELP lattice_consumer_pending lag\nlattice_consumer_pending{consumer=%q,stream=\"EVENTS\"} %v\n", consumer, n)
}

// drain returns once every service reports no pending message, summing
// over services and consumers.
func TestDrainWaitsUntilNothingIsPending(t *testing.T) {
	search := metricsServer(t, func(call int) string { return lag("search-indexer", float64(max(0, 3-call))) })
	jobs := metricsServer(t, func(call int) string {
		return lag("processing-intake", 0) + lag("processing-workers", float64(max(0, 2-call))) + "other_metric 7\n"
	})
	took, err := drain(context.Background(), []string{search, jobs}, 30*time.Second)
	require.NoError(t, err)
	require.Greater(t, took.all, time.Duration(0), "it polled until the search indexer's lag reached 0")
	require.ElementsMatch(t, []string{"search-indexer", "processing-workers"}, slices.Collect(maps.Keys(took.consumers)),
		"the consumers that were behind, and only those")
	require.GreaterOrEqual(t, took.consumers["search-indexer"], took.consumers["processing-workers"],
		"the search indexer was behind for longer")
	require.Regexp(t, `^\S+ after the last request \(search-indexer \S+, processing-workers \S+\)$`, took.String())
}

// A backlog that outlasts the limit ends the wait with the count left.
func TestDrainGivesUpAfterItsLimit(t *testing.T) {
	stuck := metricsServer(t, func(int) string { return lag("search-indexer", 5) })
	_, err := drain(context.Background(), []string{stuck}, 300*time.Millisecond)
	require.ErrorContains(t, err, "did not catch up within 300ms: 5 messages pending")
}

// A lag the service cannot read (NaN) or a page over the bound is an
// error, never taken for an idle pipeline.
func TestPendingRefusesWhatItCannotRead(t *testing.T) {
	unread := metricsServer(t, func(int) string { return lag("search-indexer", 0) + "lattice_consumer_pending{consumer=\"x\"} NaN\n" })
	_, err := pending(context.Background(), []string{unread})
	require.ErrorContains(t, err, "unreadable lag")

	long := metricsServer(t, func(int) string {
		return strings.Repeat("# padding\n", maxMetrics/10) + lag("search-indexer", 9)
	})
	_, err = pending(context.Background(), []string{long})
	require.ErrorContains(t, err, fmt.Sprintf("metrics page over %d bytes", maxMetrics))

	atLimit := metricsServer(t, func(int) string {
		tail := lag("search-indexer", 9)
		return strings.Repeat("#", maxMetrics-len(tail)-1) + "\n" + tail
	})
	n, err := pending(context.Background(), []string{atLimit})
	require.NoError(t, err)
	require.Equal(t, map[string]float64{"search-indexer": 9}, n, "a page of exactly the bound is read to its end")
}
