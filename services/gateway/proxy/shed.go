package proxy

import (
	"net/http"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/platform/problem"
)

// Shed limits requests in flight to max. Past it, requests are refused at
// once with 503 and Retry-After rather than queued, so the admitted ones
// keep their latency.
func Shed(max int) func(http.Handler) http.Handler {
	slots := make(chan struct{}, max)
	busy := &fault.Error{Kind: fault.Unavailable, Message: "the gateway is at capacity; retry shortly", RetryAfterSeconds: 1}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case slots <- struct{}{}:
				defer func() { <-slots }()
				next.ServeHTTP(w, r)
			default:
				problem.Write(w, r, busy)
			}
		})
	}
}
