// Package usage records every request through the gateway and publishes
// the records in batches to the USAGE stream, many records a message
// (gateway.requests). Recording never blocks a
// request: records go into a bounded buffer, and when it is full they are
// dropped and counted.
package usage

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lattice-platform/lattice/pkg/events"
	"github.com/lattice-platform/lattice/pkg/events/schema"
	"github.com/lattice-platform/lattice/pkg/ports"
)

// Recorder buffers usage records for publication.
type Recorder struct {
	pub       ports.EventPublisher
	log       *slog.Logger
	dropped   prometheus.Counter
	published prometheus.Counter
	// BatchSize and FlushEvery bound how long a record waits (defaults
	// 500 and 1s).
	BatchSize  int
	FlushEvery time.Duration

	// Records wait in a slice under a lock, not in a channel: a channel
	// woke the publishing goroutine for every record, a goroutine switch
	// on every request, where it needs waking once a batch is full.
	mu      sync.Mutex
	pending []schema.UsageRecord // recorded, not yet taken by Run
	size    int                  // the most records pending
	full    chan struct{}        // capacity 1: a batch is pending
}

// New returns a recorder with a buffer of size records, registering its
// counters on reg.
func New(pub ports.EventPublisher, size int, reg prometheus.Registerer, log *slog.Logger) *Recorder {
	r := &Recorder{
		pub: pub, log: log, BatchSize: 500, FlushEvery: time.Second, size: size, full: make(chan struct{}, 1),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "lattice_gateway_usage_dropped_total",
			Help: "Usage records dropped because the buffer was full."}),
		published: prometheus.NewCounter(prometheus.CounterOpts{Name: "lattice_gateway_usage_published_total",
			Help: "Usage records published to the USAGE stream."}),
	}
	reg.MustRegister(r.dropped, r.published)
	return r
}

// Record queues rec, or drops it if the buffer is full. It wakes Run
// only when a batch is pending.
func (r *Recorder) Record(rec schema.UsageRecord) {
	r.mu.Lock()
	if len(r.pending) >= r.size {
		r.mu.Unlock()
		r.dropped.Inc()
		return
	}
	r.pending = append(r.pending, rec)
	ready := len(r.pending) == r.BatchSize
	r.mu.Unlock()
	if ready {
		select {
		case r.full <- struct{}{}:
		default: // already told
		}
	}
}

// takeInto appends pending records to batch, oldest first: all of them,
// or with all false only the whole batches, leaving the rest pending.
// Leaving the rest in the buffer, rather than holding it in Run, keeps
// Record's wake-up exact: the buffer then holds every record not yet
// sent, so it passes BatchSize exactly when another whole batch is ready.
// (Run once held the rest itself, and a batch completed by records split
// between the two woke nobody until the ticker.)
func (r *Recorder) takeInto(batch []schema.UsageRecord, all bool) []schema.UsageRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(r.pending)
	if !all {
		n -= n % r.BatchSize
	}
	batch = append(batch, r.pending[:n]...)
	rest := copy(r.pending, r.pending[n:])
	clear(r.pending[rest:]) // drop the references the taken records hold
	r.pending = r.pending[:rest]
	return batch
}

// Run publishes batches until ctx ends, then flushes what is buffered.
// A full batch leaves when it fills; the records short of one wait for
// the ticker.
func (r *Recorder) Run(ctx context.Context) {
	var batch []schema.UsageRecord
	tick := time.NewTicker(r.FlushEvery)
	defer tick.Stop()
	// send takes the pending records (all, or only whole batches) and
	// publishes them in BatchSize chunks.
	send := func(ctx context.Context, all bool) {
		batch = r.takeInto(batch, all)
		for sent := 0; sent < len(batch); sent += r.BatchSize {
			r.publish(ctx, batch[sent:min(sent+r.BatchSize, len(batch))])
		}
		clear(batch)
		batch = batch[:0]
	}
	for {
		select {
		case <-r.full:
			send(ctx, false)
		case <-tick.C:
			send(ctx, true)
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			send(fctx, true)
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
