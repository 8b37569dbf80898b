// Command tracewaits reads a Go runtime trace (bench/gateway -trace writes
// one for each gateway run's first seconds) and prints, for each slice of
// time, how long goroutines that were ready to run waited for a processor:
// the scheduling delay that adds to a request's latency when the process
// is short of CPU. Beside it: goroutines created (a new connection gets
// one), and time in the garbage collector's mark phase and with the world
// stopped.
//
//	go run ./bench/tracewaits /tmp/traces/round-2.trace
//	go run ./bench/tracewaits -window 50ms -until 1s /tmp/traces/round-2.trace
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/lattice-platform/lattice/bench/internal/latency"
	"golang.org/x/exp/trace"
)

func main() {
	width := flag.Duration("window", 100*time.Millisecond, "each line's slice of the trace")
	until := flag.Duration("until", 0, "print only the slices before this much of the trace (0: all)")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: tracewaits [-window D] [-until D] FILE")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 || *width <= 0 {
		flag.Usage()
		os.Exit(2)
	}
	f, err := os.Open(flag.Arg(0))
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	ws, err := windows(f, *width)
	if err != nil {
		log.Fatal(err)
	}
	for _, w := range ws {
		if *until > 0 && w.start >= *until {
			break
		}
		fmt.Println(w)
	}
}

// window is what happened in one slice of a trace.
type window struct {
	start       time.Duration // from the trace's first event
	created     int           // goroutines created
	waits       []time.Duration
	gcMark, stw time.Duration // begun in this slice
}

func (w window) String() string {
	slices.Sort(w.waits)
	long := len(w.waits) - sortedIndex(w.waits, time.Millisecond)
	return fmt.Sprintf("%6s  created %4d  ready→running %5d: P50 %-8s P99 %-8s max %-8s over 1 ms %3d  GC mark %-8s stopped %s",
		w.start, w.created, len(w.waits), µs(latency.Quantile(w.waits, 0.5)), µs(latency.Quantile(w.waits, 0.99)), µs(latency.Quantile(w.waits, 1)), long,
		w.gcMark.Round(time.Microsecond), w.stw.Round(time.Microsecond))
}

// µs rounds d to the microsecond.
func µs(d time.Duration) time.Duration { return d.Round(time.Microsecond) }

// sortedIndex is the index of the first of sorted at least d.
func sortedIndex(sorted []time.Duration, d time.Duration) int {
	i, _ := slices.BinarySearch(sorted, d)
	return i
}

// windows reads the trace in r into slices of width: each goroutine's
// waits from ready (runnable) to running are counted in the slice where
// it ran.
func windows(r io.Reader, width time.Duration) ([]window, error) {
	rd, err := trace.NewReader(r)
	if err != nil {
		return nil, err
	}
	var (
		first    trace.Time
		ws       []window
		ready    = map[trace.GoID]trace.Time{}
		begun    = map[rangeID]trace.Time{} // → the range's start
		haveTime bool
	)
	at := func(t trace.Time) *window {
		i := int(time.Duration(t-first) / width)
		for len(ws) <= i {
			ws = append(ws, window{start: time.Duration(len(ws)) * width})
		}
		return &ws[i]
	}
	for {
		ev, err := rd.ReadEvent()
		if errors.Is(err, io.EOF) {
			return ws, nil
		}
		if err != nil {
			return nil, err
		}
		if !haveTime {
			first, haveTime = ev.Time(), true
		}
		switch ev.Kind() {
		case trace.EventStateTransition:
			st := ev.StateTransition()
			if st.Resource.Kind != trace.ResourceGoroutine {
				continue
			}
			id := st.Resource.Goroutine()
			from, to := st.Goroutine()
			if from == trace.GoNotExist && to == trace.GoRunnable {
				at(ev.Time()).created++
			}
			switch {
			case to == trace.GoRunnable:
				ready[id] = ev.Time()
			case from == trace.GoRunnable && to == trace.GoRunning:
				if t, ok := ready[id]; ok {
					w := at(ev.Time())
					w.waits = append(w.waits, time.Duration(ev.Time()-t))
					delete(ready, id)
				}
			}
		case trace.EventRangeBegin:
			begun[rangeKey(ev)] = ev.Time()
		case trace.EventRangeEnd:
			k := rangeKey(ev)
			t, ok := begun[k]
			if !ok {
				continue // begun before the trace did
			}
			delete(begun, k)
			d := time.Duration(ev.Time() - t)
			switch name := ev.Range().Name; {
			case strings.HasPrefix(name, "GC "):
				at(t).gcMark += d
			case strings.HasPrefix(name, "stop-the-world"):
				at(t).stw += d
			}
		}
	}
}

// rangeID tells a range's begin and end apart from another's.
type rangeID struct {
	name  string
	scope trace.ResourceID
}

func rangeKey(ev trace.Event) rangeID {
	r := ev.Range()
	return rangeID{r.Name, r.Scope}
}
