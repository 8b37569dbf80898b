package main

import (
	"bytes"
	"runtime"
	"runtime/trace"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestWindowsReadARealTrace: a trace of this test's own goroutines and a
// collection shows them in its slices: the goroutines created, their
// waits to run, the mark phase and the stopped world.
func TestWindowsReadARealTrace(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, trace.Start(&buf))
	const spawned = 50
	var wg sync.WaitGroup
	for range spawned {
		wg.Go(func() { runtime.Gosched() })
	}
	wg.Wait()
	runtime.GC()
	trace.Stop()

	const width = 10 * time.Millisecond
	ws, err := windows(&buf, width)
	require.NoError(t, err)
	require.NotEmpty(t, ws)
	var created, waits int
	var mark, stw time.Duration
	for i, w := range ws {
		require.Equal(t, time.Duration(i)*width, w.start, "slices follow each other from the trace's start")
		created += w.created
		waits += len(w.waits)
		mark += w.gcMark
		stw += w.stw
		for _, d := range w.waits {
			require.GreaterOrEqual(t, d, time.Duration(0))
		}
	}
	require.GreaterOrEqual(t, created, spawned)
	require.GreaterOrEqual(t, waits, spawned, "each goroutine waited once at least, to start")
	require.Positive(t, mark, "runtime.GC's mark phase")
	require.Positive(t, stw, "runtime.GC stops the world")
}

// TestWindowsRefusesWhatIsNotATrace: a file of anything else is an error,
// not an empty table.
func TestWindowsRefusesWhatIsNotATrace(t *testing.T) {
	_, err := windows(strings.NewReader("not a trace at all"), time.Millisecond)
	require.Error(t, err)
}

// TestWindowString: the quantiles, and the waits over a millisecond.
func TestWindowString(t *testing.T) {
	w := window{start: 100 * time.Millisecond, created: 3, gcMark: 1500 * time.Microsecond}
	for i := 1; i <= 100; i++ {
		w.waits = append(w.waits, time.Duration(i)*50*time.Microsecond) // 50 µs … 5 ms
	}
	got := w.String()
	require.Contains(t, got, "100ms  created    3  ready→running   100: P50 2.5ms")
	require.Contains(t, got, "P99 4.95ms")
	require.Contains(t, got, "max 5ms")
	require.Contains(t, got, "over 1 ms  81")
	require.Contains(t, got, "GC mark 1.5ms")
	require.Contains(t, window{}.String(), "P50 0s")
}
