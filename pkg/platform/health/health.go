// Package health serves liveness and readiness. Liveness (/healthz) says the
// process can answer; readiness (/readyz) runs every dependency check, so a
// load balancer stops sending traffic while, say, the database is away.
package health

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Check reports whether one dependency is reachable.
type Check func(ctx context.Context) error

// Checks maps a dependency name (for example "postgres") to its check.
type Checks map[string]Check

// Live answers 200 while the process is serving.
func Live(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
}

// Ready runs all checks concurrently, each bounded by timeout, and answers
// 200 when all pass and 503 otherwise. Failure text is not included: it may
// name hosts or users; it is logged by the caller's checks if needed.
// report, when not nil, is told each answer, for the readiness metrics.
func Ready(checks Checks, timeout time.Duration, report func(ready bool)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		results := make(map[string]string, len(checks))
		var mu sync.Mutex
		var wg sync.WaitGroup
		for name, check := range checks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				status := "ok"
				if err := check(ctx); err != nil {
					status = "unavailable"
				}
				mu.Lock()
				results[name] = status
				mu.Unlock()
			}()
		}
		wg.Wait()
		code := http.StatusOK
		names := make([]string, 0, len(results))
		for name, s := range results {
			names = append(names, name)
			if s != "ok" {
				code = http.StatusServiceUnavailable
			}
		}
		sort.Strings(names)
		body := struct {
			Status string            `json:"status"`
			Checks map[string]string `json:"checks"`
		}{Status: "ok", Checks: results}
		if code != http.StatusOK {
			body.Status = "unavailable"
		}
		if report != nil {
			report(code == http.StatusOK)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(body)
	}
}

// Drain is the readiness of a process that is shutting down: once Start is
// called its Check fails, so load balancers and the gateway stop sending
// new requests while the ones in flight finish.
type Drain struct{ on atomic.Bool }

// Start marks the process as draining.
func (d *Drain) Start() { d.on.Store(true) }

// Check fails while draining.
func (d *Drain) Check(context.Context) error {
	if d.on.Load() {
		return errDraining
	}
	return nil
}

var errDraining = errors.New("shutting down")
