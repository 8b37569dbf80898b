package tokenbucket

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lattice-platform/lattice/pkg/ports"
)

// Fallback is a shared limiter (Redis: one budget for every replica) that
// limits with this process's own token buckets while the shared one is
// unavailable, instead of admitting everything or refusing everything.
// Limits stay enforced, per replica, through an outage. The switch is logged
// both ways and shown by lattice_ratelimit_fallback (1 while local).
//
// After a failure the shared limiter is left alone for Retry, so that an
// outage costs one failed call per Retry rather than one per request; each
// call to it is bounded by Timeout.
type Fallback struct {
	shared  ports.RateLimiter
	local   *Limiter
	log     *slog.Logger
	Timeout time.Duration
	Retry   time.Duration
	now     func() time.Time

	mu        sync.Mutex
	downUntil time.Time
	down      bool

	active    prometheus.Gauge
	decisions prometheus.Counter
}

var (
	_ ports.MultiRateLimiter = (*Fallback)(nil)
	_ prometheus.Collector   = (*Fallback)(nil)
)

// NewFallback wraps shared. Its metrics are its own (it is a
// prometheus.Collector): whoever serves metrics registers it.
func NewFallback(shared ports.RateLimiter, log *slog.Logger) *Fallback {
	f := &Fallback{shared: shared, local: New(), log: log, Timeout: 250 * time.Millisecond, Retry: 2 * time.Second, now: time.Now,
		active: prometheus.NewGauge(prometheus.GaugeOpts{Name: "lattice_ratelimit_fallback",
			Help: "1 while the shared rate limiter (Redis) is unavailable and this process limits on its own."}),
		decisions: prometheus.NewCounter(prometheus.CounterOpts{Name: "lattice_ratelimit_fallback_decisions_total",
			Help: "Rate-limit decisions made by this process's own buckets because the shared limiter was unavailable."}),
	}
	return f
}

// Describe is prometheus.Collector's.
func (f *Fallback) Describe(ch chan<- *prometheus.Desc) {
	f.active.Describe(ch)
	f.decisions.Describe(ch)
}

// Collect is prometheus.Collector's.
func (f *Fallback) Collect(ch chan<- prometheus.Metric) {
	f.active.Collect(ch)
	f.decisions.Collect(ch)
}

// Allow asks the shared limiter, or this process's buckets while it is
// unavailable: a decision is always made, and the only error is ctx's.
func (f *Fallback) Allow(ctx context.Context, key string, limit ports.RateLimit) (ports.RateDecision, error) {
	ds, err := f.AllowEach(ctx, []ports.RateBudget{{Key: key, Limit: limit}})
	if err != nil {
		return ports.RateDecision{}, err
	}
	return ds[0], nil
}

// AllowEach is Allow for several budgets (ports.MultiRateLimiter): one
// call to the shared limiter when it can take them together, else this
// process's buckets in turn.
func (f *Fallback) AllowEach(ctx context.Context, budgets []ports.RateBudget) ([]ports.RateDecision, error) {
	if !f.skipShared() {
		sctx, cancel := context.WithTimeout(ctx, f.Timeout)
		ds, err := ports.AllowEach(sctx, f.shared, budgets)
		cancel()
		if err == nil {
			f.recovered(ctx)
			return ds, nil
		}
		if ctx.Err() != nil { // the caller left; not the limiter's fault
			return nil, ctx.Err()
		}
		f.failed(ctx, err)
	}
	ds, err := f.local.AllowEach(ctx, budgets)
	f.decisions.Add(float64(len(ds)))
	return ds, err
}

func (f *Fallback) skipShared() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.down && f.now().Before(f.downUntil)
}

func (f *Fallback) failed(ctx context.Context, err error) {
	f.mu.Lock()
	was := f.down
	f.down, f.downUntil = true, f.now().Add(f.Retry)
	f.mu.Unlock()
	if !was {
		f.active.Set(1)
		f.log.WarnContext(ctx, "shared rate limiter unavailable: limiting per process until it is back", "error", err)
	}
}

func (f *Fallback) recovered(ctx context.Context) {
	f.mu.Lock()
	was := f.down
	f.down = false
	f.mu.Unlock()
	if was {
		f.active.Set(0)
		f.log.InfoContext(ctx, "shared rate limiter back: limits are shared again")
	}
}
