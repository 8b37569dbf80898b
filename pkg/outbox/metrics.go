package outbox

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lattice-platform/lattice/pkg/ports"
)

// backlogTimeout bounds the store query behind one scrape.
const backlogTimeout = 2 * time.Second

// BacklogMetrics is a Prometheus collector of an outbox's backlog, read
// from the store at each scrape, so every replica reports the same
// figures: events written but not yet published, and how long the oldest
// has waited. A backlog that grows or ages means the relays cannot publish
// (the broker is down, or they are too few).
type BacklogMetrics struct {
	store        ports.OutboxBacklog
	log          *slog.Logger
	now          func() time.Time
	pending, age *prometheus.Desc
}

var _ prometheus.Collector = (*BacklogMetrics)(nil)

// NewBacklogMetrics returns the collector of service's outbox.
func NewBacklogMetrics(service string, store ports.OutboxBacklog, log *slog.Logger) *BacklogMetrics {
	labels := prometheus.Labels{"service": service}
	return &BacklogMetrics{store: store, log: log, now: time.Now,
		pending: prometheus.NewDesc("lattice_outbox_pending", "Events in the outbox not yet published.", nil, labels),
		age:     prometheus.NewDesc("lattice_outbox_oldest_age_seconds", "How long the oldest unpublished event has waited (0 when none waits).", nil, labels),
	}
}

// Describe sends the two descriptors.
func (m *BacklogMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.pending
	ch <- m.age
}

// Collect reads the backlog. When the store does not answer, the metrics
// are left out of this scrape (and the failure logged) rather than
// reported as zero, which would look healthy.
func (m *BacklogMetrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), backlogTimeout)
	defer cancel()
	n, oldest, err := m.store.Backlog(ctx)
	if err != nil {
		m.log.Warn("outbox backlog unavailable for metrics", "error", err)
		return
	}
	age := 0.0
	if n > 0 && !oldest.IsZero() {
		age = max(0, m.now().Sub(oldest).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(m.pending, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(m.age, prometheus.GaugeValue, age)
}
