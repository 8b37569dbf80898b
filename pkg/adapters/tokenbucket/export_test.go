package tokenbucket

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// SetNow replaces the fallback's clock.
func (f *Fallback) SetNow(now func() time.Time) { f.now = now }

// Metrics are the fallback's gauge and counter.
func (f *Fallback) Metrics() []prometheus.Collector {
	return []prometheus.Collector{f.active, f.decisions}
}

// MaxKeys is how many buckets a Limiter keeps.
const MaxKeys = maxKeys
