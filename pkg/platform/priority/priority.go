// Package priority lets the background work of a process give way to the
// requests it serves (ADR 0034). When one process runs several services
// (`lattice serve --target=all`), their event consumers and job workers
// share its cores with the requests. Without a priority, a backlog of
// uploads to extract, embed and index takes the cores from the requests
// that caused it, and every request waits behind it. Go has no goroutine
// priorities, and an operating-system priority would need the background
// work in a process of its own, so the gate paces it instead.
//
// Requests pass through Foreground, which counts them and the time they
// are in flight. Background work runs each unit (one event, one batch,
// one job) between Background and the function Background returns. While
// no request has arrived for a second, background work runs freely: the
// process is idle, or serves only long transfers to slow clients, which
// wait on the network, not the cores. While requests arrive, units take
// turns, one at a time, and each pushes the next turn back by what it
// took from the requests: the time requests were in flight while it ran
// (ADR 0061). At a steady stream of requests that is all of a unit's
// time, and background work takes about its share; between sparse
// requests it is little, and the pipeline runs at nearly its full speed.
// No unit waits longer than the longest pause, so a busy API slows the
// pipeline down but never stops it, and a message's ack deadline is never
// at risk.
package priority

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults for New.
const (
	// DefaultPercent is the share of time background work takes while
	// requests are in flight.
	DefaultPercent = 25
	// DefaultLongestPause bounds one unit's wait, well inside the shortest
	// ack deadline of the platform's consumers (30 s).
	DefaultLongestPause = 10 * time.Second
	// DefaultArrivals is how recently a request must have arrived for the
	// requests in flight to hold background work back. A request that has
	// run longer with none after it is a transfer to or from a slow
	// client, which waits on the network rather than the cores.
	DefaultArrivals = time.Second
)

// Gate paces background work while requests are in flight. A nil *Gate
// admits everything at once, so code that may run without one calls it
// unconditionally.
type Gate struct {
	percent      int
	longestPause time.Duration
	now          func() time.Time

	inFlight  atomic.Int64 // requests being served
	lastStart atomic.Int64 // when the latest request arrived, in Unix nanoseconds
	arrivals  time.Duration
	waiting   atomic.Int64 // units waiting for their turn
	paused    atomic.Int64 // nanoseconds units have waited, in all

	// The time requests have been in flight, in all: closed periods with
	// one or more in flight, and the open one's start. Only the request
	// that starts or ends a period takes the lock, so while requests
	// overlap, as they do under load, it is not taken at all.
	activeMu    sync.Mutex
	active      time.Duration
	activeSince time.Time // zero while none is in flight

	mu   sync.Mutex
	next time.Time     // while requests arrive, no unit starts before this
	wake chan struct{} // closed when a turn ends; nil when no unit waits
}

// New returns a gate that gives background work percent (1–100) of the
// time while requests are in flight and one arrived within the last
// arrivals, and never holds a unit back longer than longestPause. At 100
// it never holds one back.
func New(percent int, longestPause, arrivals time.Duration) *Gate {
	return &Gate{percent: min(max(percent, 1), 100), longestPause: longestPause, arrivals: arrivals, now: time.Now}
}

// Foreground counts the requests next serves.
func (g *Gate) Foreground(next http.Handler) http.Handler {
	if g == nil || g.percent == 100 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.Begin()
		defer g.End()
		next.ServeHTTP(w, r)
	})
}

// Begin counts a request in flight that Foreground does not see (one
// served without net/http) until its End.
func (g *Gate) Begin() {
	if g == nil || g.percent == 100 {
		return
	}
	g.BeginAt(g.now())
}

// BeginAt is Begin for a request that arrived at t, when the server has
// read the clock already (fasthttp does for every request).
func (g *Gate) BeginAt(t time.Time) {
	if g == nil || g.percent == 100 {
		return
	}
	g.lastStart.Store(t.UnixNano())
	if g.inFlight.Add(1) == 1 {
		g.activeMu.Lock()
		// The last request to end may not have closed its period yet:
		// then the period stays open, and the moment between is counted.
		if g.activeSince.IsZero() {
			g.activeSince = t
		}
		g.activeMu.Unlock()
	}
}

// End ends a request Begin counted.
func (g *Gate) End() {
	if g == nil || g.percent == 100 {
		return
	}
	g.foregroundDone()
}

func (g *Gate) foregroundDone() {
	if g.inFlight.Add(-1) != 0 {
		return
	}
	now := g.now()
	g.activeMu.Lock()
	// A request that began since the count fell keeps the period open.
	if !g.activeSince.IsZero() && g.inFlight.Load() == 0 {
		g.active += now.Sub(g.activeSince)
		g.activeSince = time.Time{}
	}
	g.activeMu.Unlock()
}

// activeAt is the time requests have been in flight, in all, until now.
func (g *Gate) activeAt(now time.Time) time.Duration {
	g.activeMu.Lock()
	defer g.activeMu.Unlock()
	d := g.active
	if !g.activeSince.IsZero() && now.After(g.activeSince) {
		d += now.Sub(g.activeSince)
	}
	return d
}

// wakeLocked has the waiting units look again at the next turn and at
// when the last request arrived.
func (g *Gate) wakeLocked() {
	if g.wake != nil {
		close(g.wake)
		g.wake = nil
	}
}

// Background waits until a unit of background work may start and returns
// the function to call when it has finished. It returns early when ctx
// ends, so that a stopping consumer is never held.
func (g *Gate) Background(ctx context.Context) (done func()) {
	if g == nil || g.percent == 100 {
		return func() {}
	}
	took := false
	if g.recent(g.now()) {
		took = g.wait(ctx)
	}
	from := g.activeAt(g.now())
	return func() { g.ran(g.activeAt(g.now())-from, took) }
}

// Unit starts a unit of background work as Background does, and returns a
// context that carries it, with the function to call when the work has
// finished. Work that runs long in parts (a group of events applied a
// few at a time) calls Next between parts, so that requests get their
// turn between them rather than only after the whole.
func (g *Gate) Unit(ctx context.Context) (context.Context, func()) {
	u := &unit{gate: g, done: g.Background(ctx)}
	return context.WithValue(ctx, unitKey{}, u), func() { u.done() }
}

type unitKey struct{}

// unit is the unit of work a context of Unit carries; only the goroutine
// doing the work uses it.
type unit struct {
	gate *Gate
	done func()
}

// Next ends the unit of background work that ctx carries (Unit) and waits
// for the turn of the next, as if the remaining work were a unit of its
// own. Without a unit in ctx it returns at once.
func Next(ctx context.Context) {
	u, _ := ctx.Value(unitKey{}).(*unit)
	if u == nil {
		return
	}
	u.done()
	u.done = u.gate.Background(ctx)
}

// wait holds the caller until its turn comes, no request has arrived for
// g.arrivals, ctx ends or the longest pause has passed. A moment with no
// request in flight does not end the wait: at a steady stream of requests
// such moments come every few milliseconds, and a unit started in one ran
// on into the requests after it (ADR 0061). It reports whether the unit took
// a turn: then no other unit takes one until this one has run, so that
// units held back together do not all start at once.
func (g *Gate) wait(ctx context.Context) (took bool) {
	began := g.now()
	defer func() { g.paused.Add(int64(g.now().Sub(began))) }()
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		g.mu.Lock()
		now := g.now()
		turn := min(g.next.Sub(now), g.longestPause-now.Sub(began), g.quietAt().Sub(now))
		if turn <= 0 {
			g.next = now.Add(g.longestPause) // until ran says how long it took
			g.mu.Unlock()
			return true
		}
		if g.wake == nil {
			g.wake = make(chan struct{})
		}
		wake := g.wake
		g.waiting.Add(1)
		g.mu.Unlock()
		if !g.recent(now) {
			g.waiting.Add(-1)
			return false
		}
		if timer == nil {
			timer = time.NewTimer(turn)
		} else {
			timer.Reset(turn)
		}
		select {
		case <-wake:
		case <-timer.C:
		case <-ctx.Done():
		}
		g.waiting.Add(-1)
		if ctx.Err() != nil || !g.recent(g.now()) {
			return false
		}
	}
}

// ran sets the next turn after a unit that ran while requests were in
// flight for d: while requests arrive, the turn comes when they have had
// the time the unit leaves them. Work done while the process was
// otherwise idle, or served only long transfers, costs the requests
// nothing and is not counted.
func (g *Gate) ran(d time.Duration, took bool) {
	now := g.now()
	recent := g.recent(now)
	if !recent && !took {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	next := g.next
	if took || next.Before(now) {
		next = now
	}
	if recent {
		next = next.Add(d * time.Duration(100-g.percent) / time.Duration(g.percent))
	}
	if limit := now.Add(g.longestPause); next.After(limit) {
		next = limit
	}
	g.next = next
	g.wakeLocked()
}

// Busy reports whether requests in flight hold background work back now.
// A unit that can spread over several cores (the full-text index's
// analysis) keeps to one while they do: the gate's turns are measured in
// wall time, so a unit on two cores would take twice its share.
func (g *Gate) Busy() bool {
	return g != nil && g.percent < 100 && g.busy(g.now())
}

// busy reports whether requests in flight hold background work back at
// now: one is in flight, and one arrived within the last g.arrivals.
func (g *Gate) busy(now time.Time) bool {
	return g.inFlight.Load() > 0 && g.recent(now)
}

// recent reports whether a request arrived within the last g.arrivals:
// while one did, units take turns.
func (g *Gate) recent(now time.Time) bool { return now.Before(g.quietAt()) }

// quietAt is when requests stop holding background work back if no other
// arrives.
func (g *Gate) quietAt() time.Time {
	return time.Unix(0, g.lastStart.Load()).Add(g.arrivals)
}

// Waiting is how many units are waiting for their turn.
func (g *Gate) Waiting() int {
	if g == nil {
		return 0
	}
	return int(g.waiting.Load())
}

// Collector exports the time units have waited in all, as
// lattice_background_paused_seconds_total: its rate is the share of time
// the process's background work gave to requests.
func (g *Gate) Collector() prometheus.Collector {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "lattice_background_paused_seconds_total",
		Help: "Time the process's background work (event consumers, job workers) waited for its turn while requests arrived, summed over its units.",
	}, func() float64 {
		if g == nil {
			return 0
		}
		return time.Duration(g.paused.Load()).Seconds()
	})
}
