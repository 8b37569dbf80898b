// Package usage records every request through the gateway and publishes
// the records in batches to the USAGE stream, many records a message
// (gateway.requests). Recording never blocks a
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

// Bounds of one usage message: the bus stores one message per batch, not
// per request (a message per request cost NATS more CPU than the gateway
// spent proxying it), and analytics fetches hundreds of messages at once,
// so each stays small. The size is estimated from the strings a record
// holds; the fixed fields take under 200 bytes.
const (
	MaxRecordsPerMessage = 100
	maxMessageBytes      = 64 << 10
	recordOverhead       = 200
)

func (r *Recorder) publish(ctx context.Context, batch []schema.UsageRecord) {
	var evs []ports.Event
	var counts []int // records in each of evs
	total := 0
	for start := 0; start < len(batch); {
		end, size := start, 0
		for end < len(batch) && end-start < MaxRecordsPerMessage {
			rec := batch[end]
			n := recordOverhead + len(rec.Route) + len(rec.Path) + len(rec.Method) + len(rec.RequestId)
			if rec.Identity != nil {
				n += len(*rec.Identity)
			}
			if rec.ClientId != nil {
				n += len(*rec.ClientId)
			}
			if end > start && size+n > maxMessageBytes {
				break
			}
			size += n
			end++
		}
		records := batch[start:end]
		env, err := events.New("lattice/gateway", schema.CloudEventTypeGatewayRequests, records[0].RequestId, records[0].Time,
			schema.UsageBatch{Records: records})
		if err != nil {
			r.dropped.Add(float64(len(records)))
		} else {
			env.Subject = "usage.gateway"
			evs, counts = append(evs, env), append(counts, len(records))
			total += len(records)
		}
		start = end
	}
	failed := 0
	for i, err := range r.pub.PublishBatch(ctx, evs) {
		if err != nil {
			failed += counts[i]
		}
	}
	r.published.Add(float64(total - failed))
	if failed > 0 {
		// Usage is best effort by design: records are not retried, so an
		// outage cannot grow the gateway's memory.
		r.dropped.Add(float64(failed))
		r.log.WarnContext(ctx, "usage records not published", "count", failed)
	}
}
