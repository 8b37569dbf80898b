package testinfra

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/lattice-platform/lattice/pkg/platform/priority"
)

// busyArrivals is how recently a request must have arrived, at a
// BusyGate, for units to wait their turn; the gate's stream of requests
// arrives ten times as often.
const busyArrivals = 200 * time.Millisecond

// BusyGate returns a gate that gives background work 1 % of the time,
// with a request in flight and others arriving, holding it back, until
// end is called (or the test ends). Units run freely again within
// busyArrivals of end: the gate's turns last while requests arrive, not
// only while one is in flight (ADR 0061).
func BusyGate(t testing.TB) (g *priority.Gate, end func()) {
	t.Helper()
	g = priority.New(1, time.Hour, busyArrivals)
	entered, release, served := make(chan struct{}), make(chan struct{}), make(chan struct{})
	h := g.Foreground(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { close(entered); <-release }))
	go func() {
		defer close(served)
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	}()
	<-entered
	streamed := make(chan struct{})
	go func() {
		defer close(streamed)
		tick := time.NewTicker(busyArrivals / 10)
		defer tick.Stop()
		for {
			select {
			case <-release:
				return
			case <-tick.C:
				g.Begin()
				g.End()
			}
		}
	}()
	end = sync.OnceFunc(func() { close(release); <-served; <-streamed })
	t.Cleanup(end)
	return g, end
}
