// Package usage records every request through the gateway and publishes
// the records in batches to the USAGE stream. Recording never blocks a
// request: records go into a bounded buffer, and when it is full they are
// dropped and counted.
package usage

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lattice-platform/lattice/pkg/events"
	"github.com/lattice-platform/lattice/pkg/events/schema"
	"github.com/lattice-platform/lattice/pkg/ports"
)

// Recorder buffers usage records for publication.
type Recorder struct {
	buf       chan schema.UsageRecord
	pub       ports.EventPublisher
	log       *slog.Logger
	dropped   prometheus.Counter
	published prometheus.Counter
	// BatchSize and FlushEvery bound how long a record waits (defaults
	// 500 and 1s).
	BatchSize  int
	FlushEvery time.Duration
}

// New returns a recorder with a buffer of size records, registering its
// counters on reg.
func New(pub ports.EventPublisher, size int, reg prometheus.Registerer, log *slog.Logger) *Recorder {
	r := &Recorder{
		buf: make(chan schema.UsageRecord, size), pub: pub, log: log, BatchSize: 500, FlushEvery: time.Second,
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "lattice_gateway_usage_dropped_total",
			Help: "Usage records dropped because the buffer was full."}),
		published: prometheus.NewCounter(prometheus.CounterOpts{Name: "lattice_gateway_usage_published_total",
			Help: "Usage records published to the USAGE stream."}),
	}
	reg.MustRegister(r.dropped, r.published)
	return r
}

// Record queues rec, or drops it if the buffer is full.
func (r *Recorder) Record(rec schema.UsageRecord) {
	select {
	case r.buf <- rec:
	default:
		r.dropped.Inc()
	}
}

// Run publishes batches until ctx ends, then flushes what is buffered.
func (r *Recorder) Run(ctx context.Context) {
	batch := make([]schema.UsageRecord, 0, r.BatchSize)
	tick := time.NewTicker(r.FlushEvery)
	defer tick.Stop()
	flush := func(ctx context.Context) {
		if len(batch) > 0 {
			r.publish(ctx, batch)
			batch = batch[:0]
		}
	}
	for {
		select {
		case rec := <-r.buf:
			batch = append(batch, rec)
			if len(batch) >= r.BatchSize {
				flush(ctx)
			}
		case <-tick.C:
			flush(ctx)
		case <-ctx.Done():
			// Drain what is already buffered, with a short deadline.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			for {
				select {
				case rec := <-r.buf:
					batch = append(batch, rec)
					continue
				default:
				}
				break
			}
			flush(fctx)
			cancel()
			return
		}
	}
}

func (r *Recorder) publish(ctx context.Context, batch []schema.UsageRecord) {
	evs := make([]ports.Event, 0, len(batch))
	for _, rec := range batch {
		env, err := events.New("lattice/gateway", schema.CloudEventTypeGatewayRequest, rec.RequestId, rec.Time, rec)
		if err != nil {
			continue
		}
		env.Subject = "usage.gateway"
		evs = append(evs, env)
	}
	failed := 0
	for _, err := range r.pub.PublishBatch(ctx, evs) {
		if err != nil {
			failed++
		}
	}
	r.published.Add(float64(len(evs) - failed))
	if failed > 0 {
		// Usage is best effort by design: records are not retried, so an
		// outage cannot grow the gateway's memory.
		r.dropped.Add(float64(failed))
		r.log.WarnContext(ctx, "usage records not published", "count", failed)
	}
}
