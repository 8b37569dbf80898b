package logwriter_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/platform/logwriter"
)

// recorder is a destination that keeps every call's bytes.
type recorder struct {
	mu    sync.Mutex
	calls [][]byte
	at    []time.Time // when each call came
	// during, if set, runs inside each write (with the bytes written).
	during func([]byte)
	err    error
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.during != nil {
		r.during(p)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, bytes.Clone(p))
	r.at = append(r.at, time.Now())
	if r.err != nil {
		return 0, r.err
	}
	return len(p), nil
}

func (r *recorder) all() (string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return string(bytes.Join(r.calls, nil)), len(r.calls)
}

func TestLinesFromManyGoroutinesArriveWholeAndInEachWritersOrder(t *testing.T) {
	out := &recorder{}
	w := logwriter.New(out, 0)
	const writers, lines = 8, 500
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range lines {
				_, err := fmt.Fprintf(w, "writer=%d line=%d\n", g, i)
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	require.NoError(t, w.Close())

	text, calls := out.all()
	got := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	require.Len(t, got, writers*lines)
	next := make([]int, writers)
	for _, line := range got {
		var g, i int
		_, err := fmt.Sscanf(line, "writer=%d line=%d", &g, &i)
		require.NoError(t, err, "a line was split or merged: %q", line)
		require.Equal(t, next[g], i, "writer %d's lines out of order", g)
		next[g]++
	}
	assert.LessOrEqual(t, calls, writers*lines)
}

// TestUnderLoadWritesAreAtLeastMinIntervalApart: lines written without a
// pause leave in writes at least MinInterval apart (but the last, which
// Close makes at once), whole and in order, many lines to a write.
func TestUnderLoadWritesAreAtLeastMinIntervalApart(t *testing.T) {
	out := &recorder{}
	w := logwriter.New(out, 0)
	lines := 0
	for start := time.Now(); time.Since(start) < 20*logwriter.MinInterval; lines++ {
		_, err := fmt.Fprintf(w, "line=%d\n", lines)
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())

	text, calls := out.all()
	got := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	require.Len(t, got, lines)
	for i, line := range got {
		require.Equal(t, fmt.Sprintf("line=%d", i), line)
	}
	out.mu.Lock()
	defer out.mu.Unlock()
	for i := 1; i < len(out.at)-1; i++ {
		require.GreaterOrEqual(t, out.at[i].Sub(out.at[i-1]), logwriter.MinInterval, "write %d came too soon after the one before", i)
	}
	assert.Less(t, calls, 30, "%d lines in %d writes", lines, calls)
}

// TestAFloodIsWrittenBeforeTheIntervalEnds: with writes an hour apart,
// lines past half the bound still leave at once, so writers do not wait
// for room until the interval ends; fewer stay for the interval.
func TestAFloodIsWrittenBeforeTheIntervalEnds(t *testing.T) {
	const bound = 4 << 10
	out := &recorder{}
	w := logwriter.NewPaced(out, bound, time.Hour)
	defer w.Close()
	line := strings.Repeat("x", 99) + "\n"
	_, err := io.WriteString(w, line)
	require.NoError(t, err)
	require.Eventually(t, func() bool { _, calls := out.all(); return calls == 1 }, 5*time.Second, time.Millisecond,
		"a line after a quiet spell leaves at once")

	_, err = io.WriteString(w, line) // the interval starts: this one waits
	require.NoError(t, err)
	require.Never(t, func() bool { _, calls := out.all(); return calls > 1 }, 20*time.Millisecond, time.Millisecond,
		"a line within the interval waits for its end")
	for range bound / 2 / len(line) {
		_, err := io.WriteString(w, line)
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { _, calls := out.all(); return calls == 2 }, 5*time.Second, time.Millisecond,
		"half the bound waiting is written without waiting out the hour")
	text, _ := out.all()
	assert.Equal(t, 2+bound/2/len(line), strings.Count(text, "\n"), "every line, in two writes")
}

func TestLinesWrittenDuringAWriteLeaveTogetherInTheNext(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	out := &recorder{}
	out.during = func([]byte) {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
	}
	w := logwriter.New(out, 0)
	_, err := w.Write([]byte("first\n"))
	require.NoError(t, err)
	<-entered // the first line's write is under way and held
	for i := range 10 {
		_, err := fmt.Fprintf(w, "queued %d\n", i)
		require.NoError(t, err)
	}
	close(release)
	require.NoError(t, w.Close())

	text, calls := out.all()
	assert.Equal(t, 2, calls, "the ten lines queued behind the first write leave in one")
	assert.True(t, strings.HasPrefix(text, "first\nqueued 0\n"))
	assert.True(t, strings.HasSuffix(text, "queued 9\n"))
}

func TestWaitingBytesStayUnderTheBoundWhileTheDestinationStalls(t *testing.T) {
	const bound = 4 << 10
	line := []byte(strings.Repeat("x", 99) + "\n")
	release := make(chan struct{})
	out := &recorder{}
	var biggest int
	out.during = func(p []byte) {
		<-release // every write stalls until the writers are all blocked or done
		biggest = max(biggest, len(p))
	}
	w := logwriter.New(out, bound)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				_, _ = w.Write(line)
			}
		})
	}
	close(release)
	wg.Wait()
	require.NoError(t, w.Close())

	text, _ := out.all()
	assert.Equal(t, 4*200*len(line), len(text), "no line is dropped")
	assert.LessOrEqual(t, biggest, bound, "a batch never holds more than the bound")
}

func TestAWriteErrorIsReportedAndTheLinesAfterItStillGo(t *testing.T) {
	broken := errors.New("disk full")
	out := &recorder{err: broken}
	w := logwriter.New(out, 0)
	_, err := w.Write([]byte("lost\n"))
	require.NoError(t, err, "the destination has not been written yet")
	require.ErrorIs(t, w.Close(), broken)

	out.err = nil
	n, err := w.Write([]byte("after close\n"))
	require.NoError(t, err)
	assert.Equal(t, len("after close\n"), n)
	text, _ := out.all()
	assert.Equal(t, "lost\nafter close\n", text, "a line written after Close goes straight out")
}

func TestCloseWritesWhatIsWaiting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	w := logwriter.New(f, 0)
	for i := range 1000 {
		_, err := fmt.Fprintf(w, "%d\n", i)
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
	require.NoError(t, w.Close(), "a second Close does nothing")

	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, 1000, bytes.Count(data, []byte("\n")))
	assert.True(t, bytes.HasSuffix(data, []byte("999\n")))
}

// BenchmarkLog compares a line per write system call with the batching
// writer, both into a file, from parallel goroutines as requests log.
func BenchmarkLog(b *testing.B) {
	line := []byte(`{"time":"2026-11-30T15:00:00.000000000Z","level":"INFO","msg":"http request","method":"GET","path":"/v1/resources/abc","status":200}` + "\n")
	for _, batching := range []bool{false, true} {
		b.Run(fmt.Sprintf("batching=%v", batching), func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "log"))
			require.NoError(b, err)
			defer f.Close()
			var dst interface{ Write([]byte) (int, error) } = f
			var w *logwriter.Writer
			if batching {
				w = logwriter.New(f, 0)
				dst = w
			}
			var mu sync.Mutex // slog's handler holds one around each write
			b.SetBytes(int64(len(line)))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					mu.Lock()
					_, _ = dst.Write(line)
					mu.Unlock()
				}
			})
			if w != nil {
				require.NoError(b, w.Close())
			}
		})
	}
}
