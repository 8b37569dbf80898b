package priority

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/testinfra/leakcheck"
)

// TestMain fails the package's tests if they leave goroutines running.
func TestMain(m *testing.M) { leakcheck.Main(m) }

// clock is a time the test moves by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func gateOn(percent int, longest time.Duration) (*Gate, *clock) {
	c := &clock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	g := New(percent, longest, 24*time.Hour) // the tests move the clock by hand
	g.now = c.now
	return g, c
}

// request holds one request in flight through g until the returned
// function is called.
func request(t *testing.T, g *Gate) (end func()) {
	t.Helper()
	release, served := make(chan struct{}), make(chan struct{})
	h := g.Foreground(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	before := g.inFlight.Load()
	go func() {
		defer close(served)
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	}()
	require.Eventually(t, func() bool { return g.inFlight.Load() == before+1 }, 5*time.Second, time.Millisecond)
	return func() { close(release); <-served }
}

// start runs Background in a goroutine; the channel is closed once it
// has returned.
func start(ctx context.Context, g *Gate) <-chan struct{} {
	began := make(chan struct{})
	go func() { defer close(began); g.Background(ctx)() }()
	return began
}

func TestUnitsRunFreelyWhileNoRequestIsInFlight(t *testing.T) {
	g, c := gateOn(25, time.Hour)
	for range 3 {
		done := g.Background(t.Context())
		c.add(10 * time.Second)
		done()
	}
	assert.True(t, g.next.IsZero(), "work done while the process was idle must not delay the next unit")
	assert.Zero(t, g.paused.Load())
}

func TestAUnitRunWhileRequestsAreInFlightDelaysTheNextByWhatItLeavesThem(t *testing.T) {
	g, c := gateOn(25, time.Minute)
	end := request(t, g)
	defer end()
	done := g.Background(t.Context())
	c.add(2 * time.Second)
	done()
	// At 25 %, 2 s of background work is owed 6 s of the requests'.
	assert.Equal(t, c.now().Add(6*time.Second), g.next)
	g.ran(time.Second, false)
	assert.Equal(t, c.now().Add(9*time.Second), g.next, "debts add up")
	c.add(9 * time.Second)
	select {
	case <-start(t.Context(), g): // its turn has come
	case <-time.After(5 * time.Second):
		t.Fatal("a unit whose turn has come is held")
	}
	for range 20 {
		g.ran(10*time.Second, false)
	}
	assert.Equal(t, c.now().Add(time.Minute), g.next, "a unit never waits longer than the longest pause")
}

// The moments between requests do not free the units that wait: at a
// steady stream of requests they come every few milliseconds, and a unit
// started in one runs on into the requests after it (ADR 0061). Only its
// turn, or a second with no request, does.
func TestAUnitWaitsForItsTurnBetweenRequests(t *testing.T) {
	const owed = 40 * time.Millisecond
	g := New(25, time.Hour, time.Hour)
	end := request(t, g)
	t0 := time.Now()
	g.ran(owed/3, false) // the next turn comes 40 ms from now

	began := start(t.Context(), g)
	require.Eventually(t, func() bool { return g.Waiting() == 1 }, 5*time.Second, time.Millisecond)
	end()
	assert.Zero(t, g.inFlight.Load())
	select {
	case <-began:
	case <-time.After(5 * time.Second):
		t.Fatal("the unit is held past its turn")
	}
	assert.GreaterOrEqual(t, time.Since(t0), owed, "the unit started before its turn, when the last request ended")
}

// A unit pays for the time requests were in flight while it ran, not for
// all of its own: between sparse requests, background work runs at
// nearly its full speed.
func TestAUnitPaysForTheTimeRequestsWereInFlightWhileItRan(t *testing.T) {
	g, c := gateOn(25, time.Hour)
	request(t, g)() // one arrived just now, and ended
	done := g.Background(t.Context())
	c.add(time.Second)
	end := request(t, g)
	c.add(500 * time.Millisecond)
	second := request(t, g) // overlapping requests are counted once
	c.add(500 * time.Millisecond)
	end()
	c.add(250 * time.Millisecond)
	second()
	c.add(time.Second)
	done()
	// 1.25 s of 3.25 s with requests in flight: 3.75 s owed at 25 %.
	assert.Equal(t, c.now().Add(3750*time.Millisecond), g.next)
	assert.Equal(t, 1250*time.Millisecond, g.activeAt(c.now()))

	c.add(3750 * time.Millisecond)
	done = g.Background(t.Context()) // its turn has come
	c.add(time.Second)
	done()
	assert.Equal(t, c.now(), g.next, "a unit run while no request was in flight owes nothing")
}

func TestAUnitWaitsNoLongerThanTheLongestPause(t *testing.T) {
	const longest = 30 * time.Millisecond
	g := New(25, longest, time.Hour)
	end := request(t, g)
	defer end()
	t0 := time.Now()
	g.ran(time.Hour, false) // a debt far beyond the longest pause: the turn comes in 30 ms

	select {
	case <-start(t.Context(), g):
	case <-time.After(10 * time.Second):
		t.Fatal("the unit is held past the longest pause")
	}
	waited := time.Since(t0)
	assert.GreaterOrEqual(t, waited, longest, "the unit did not wait for its turn")
	paused := testutil.ToFloat64(g.Collector())
	assert.Positive(t, paused, "the wait is counted")
	assert.LessOrEqual(t, paused, waited.Seconds())
}

func TestAStoppingConsumerIsNotHeld(t *testing.T) {
	g, _ := gateOn(25, time.Hour)
	end := request(t, g)
	defer end()
	g.ran(time.Hour, false)
	ctx, cancel := context.WithCancel(t.Context())
	began := start(ctx, g)
	require.Eventually(t, func() bool { return g.Waiting() == 1 }, 5*time.Second, time.Millisecond)
	cancel()
	select {
	case <-began:
	case <-time.After(5 * time.Second):
		t.Fatal("a unit whose context ended is still held")
	}
}

func TestAtAHundredPercentNothingIsCountedOrHeld(t *testing.T) {
	h := http.NotFoundHandler()
	for _, g := range []*Gate{nil, New(100, time.Hour, time.Hour), New(500, time.Hour, time.Hour)} {
		served := g.Foreground(h)
		rec := httptest.NewRecorder()
		served.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		assert.Equal(t, http.StatusNotFound, rec.Code)
		if g != nil {
			assert.Zero(t, g.inFlight.Load())
			g.inFlight.Add(1) // as if a request were in flight
			g.ran(time.Hour, false)
		}
		g.Background(t.Context())()
		assert.Zero(t, g.Waiting())
		assert.Zero(t, testutil.ToFloat64(g.Collector()))
	}
}

func TestUnitsHeldBackTogetherTakeTheirTurnsOneAtATime(t *testing.T) {
	g := New(25, time.Hour, time.Hour)
	end := request(t, g)
	defer end()
	g.ran(10*time.Millisecond, false) // the next turn in 30 ms

	started := make(chan int, 2)
	release := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			done := g.Background(t.Context())
			started <- i
			<-release[i]
			done()
		}()
	}
	defer wg.Wait()
	first := <-started
	require.Eventually(t, func() bool { return g.Waiting() == 1 }, 5*time.Second, time.Millisecond,
		"the other unit should wait while the first runs")
	select {
	case i := <-started:
		t.Fatalf("unit %d started while unit %d had the turn", i, first)
	default:
	}
	close(release[first])
	select {
	case second := <-started:
		close(release[second])
	case <-time.After(5 * time.Second):
		t.Fatal("the second unit did not get its turn after the first ran")
	}
}

func TestALongRequestWithNoneAfterItDoesNotHoldBackgroundWork(t *testing.T) {
	g, c := gateOn(25, time.Hour)
	g.arrivals = time.Second
	end := request(t, g) // a download to a slow client, say
	defer end()
	done := g.Background(t.Context())
	c.add(500 * time.Millisecond)
	done()
	assert.Equal(t, c.now().Add(1500*time.Millisecond), g.next, "a request arrived half a second ago")

	c.add(time.Second) // no request for 1.5 s
	select {
	case <-start(t.Context(), g):
	case <-time.After(5 * time.Second):
		t.Fatal("a unit waits behind a request that has run for 1.5 s with no other after it")
	}
	g.ran(time.Hour, false)
	assert.Equal(t, c.now().Add(500*time.Millisecond), g.next, "a unit run then costs the requests nothing")

	end2 := request(t, g) // a new arrival holds back again
	defer end2()
	g.ran(time.Second, false)
	assert.Equal(t, c.now().Add(3500*time.Millisecond), g.next, "the debt adds to the turn not yet come")
}

// A unit that works in parts (Unit, Next) pays for each part as it ends
// and waits for its turn before the next, as separate units would, and
// the requests in flight get their turn between the parts.
func TestAUnitInPartsGivesWayBetweenThem(t *testing.T) {
	g, c := gateOn(25, time.Hour)
	end := request(t, g)
	ctx, done := g.Unit(t.Context())
	c.add(2 * time.Second)
	parted := make(chan struct{})
	go func() { defer close(parted); Next(ctx) }()
	require.Eventually(t, func() bool { return g.Waiting() == 1 }, 5*time.Second, time.Millisecond,
		"the next part waits for its turn")
	assert.Equal(t, c.now().Add(6*time.Second), g.next, "the first part was paid for when it ended")
	c.add(6 * time.Second)
	g.mu.Lock()
	g.wakeLocked() // as the waiting part's timer would, at its turn
	g.mu.Unlock()
	select {
	case <-parted:
	case <-time.After(5 * time.Second):
		t.Fatal("the next part still waits after its turn came")
	}
	c.add(time.Second) // the second part, with the request still in flight
	end()
	done()
	assert.Equal(t, c.now().Add(3*time.Second), g.next, "the second part is paid for at the end")

	Next(t.Context()) // without a unit in the context: nothing to end or wait for
}

// BeginAt takes the request's arrival as the server read it, not the
// gate's clock: an arrival an hour back does not hold background work.
func TestBeginAtCountsTheArrivalItIsGiven(t *testing.T) {
	g, c := gateOn(25, time.Hour)
	g.arrivals = time.Second
	g.BeginAt(c.now())
	done := g.Background(t.Context())
	c.add(500 * time.Millisecond)
	done()
	require.Equal(t, c.now().Add(1500*time.Millisecond), g.next, "a unit run while the request is in flight owes it a turn")

	g.BeginAt(c.now().Add(-time.Hour)) // a second request, read in long ago
	defer g.End()
	defer g.End()
	select {
	case <-start(t.Context(), g):
	case <-time.After(5 * time.Second):
		t.Fatal("a unit waits behind requests whose last arrived an hour ago")
	}
}

func TestBusyWhileARecentRequestIsInFlight(t *testing.T) {
	g, c := gateOn(25, time.Hour)
	g.arrivals = time.Second
	assert.False(t, g.Busy(), "no request in flight")
	end := request(t, g)
	assert.True(t, g.Busy(), "a request arrived just now")
	c.add(1500 * time.Millisecond)
	assert.False(t, g.Busy(), "the request in flight has run for 1.5 s with none after it")
	end()

	var nilGate *Gate
	assert.False(t, nilGate.Busy())
	off := New(100, time.Hour, time.Hour)
	off.BeginAt(time.Now())
	assert.False(t, off.Busy(), "at 100 percent the gate holds nothing back")
}

// BenchmarkBeginEnd is the gate's cost on every request (ADR 0061): alone,
// each request opens and closes a period with requests in flight; beside
// another in flight, as under load, it only counts.
//
//	go test -run '^$' -bench BeginEnd -benchmem ./pkg/platform/priority/
func BenchmarkBeginEnd(b *testing.B) {
	for _, overlapping := range []bool{false, true} {
		name := "alone"
		if overlapping {
			name = "overlapping"
		}
		b.Run(name, func(b *testing.B) {
			g := New(DefaultPercent, DefaultLongestPause, DefaultArrivals)
			if overlapping {
				g.Begin()
				defer g.End()
			}
			b.ReportAllocs()
			for b.Loop() {
				g.Begin()
				g.End()
			}
		})
	}
}
