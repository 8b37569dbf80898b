package testinfra

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/lattice-platform/lattice/pkg/platform/priority"
)

// BusyGate returns a gate that gives background work 1 % of the time,
// with a request in flight, holding it back, until end is called (or the
// test ends).
func BusyGate(t testing.TB) (g *priority.Gate, end func()) {
	t.Helper()
	g = priority.New(1, time.Hour, time.Hour)
	entered, release, served := make(chan struct{}), make(chan struct{}), make(chan struct{})
	h := g.Foreground(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { close(entered); <-release }))
	go func() {
		defer close(served)
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	}()
	<-entered
	end = sync.OnceFunc(func() { close(release); <-served })
	t.Cleanup(end)
	return g, end
}
