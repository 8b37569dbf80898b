package natsjs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lattice-platform/lattice/pkg/platform/priority"
)

// JobsStream is the work-queue stream of processing jobs: each message
// names one job and is removed once a worker acknowledges it.
var JobsStream = jetstream.StreamConfig{
	Name: "JOBS", Subjects: []string{"jobs.>"}, Storage: jetstream.FileStorage,
	Retention: jetstream.WorkQueuePolicy, Duplicates: 10 * time.Minute,
}

// JobsConsumer is the durable consumer every processing worker pulls JOBS
// from; its backlog is what the workers are scaled on.
const JobsConsumer = "processing-workers"

// WorkQueue hands job ids from the JOBS stream to workers. A message is
// acknowledged only when its handler says the job is done; a worker that
// dies leaves it unacknowledged, and JetStream redelivers it after AckWait.
type WorkQueue struct {
	js      jetstream.JetStream
	log     *slog.Logger
	durable string
	// AckWait is how long a silent worker keeps a job before it is
	// redelivered; running handlers extend it with heartbeats.
	AckWait time.Duration
	// JobTimeout is the deadline of one attempt: the handler's context
	// ends then and the heartbeats stop, so a stuck job cannot hold its
	// message (or its worker slot) forever.
	JobTimeout time.Duration
	// Gate, when set, paces the jobs while the process serves requests
	// (ADR 0034).
	Gate *priority.Gate
}

// NewWorkQueue opens the JOBS stream (creating it if missing).
func NewWorkQueue(ctx context.Context, js jetstream.JetStream, log *slog.Logger) (*WorkQueue, error) {
	if _, err := js.CreateOrUpdateStream(ctx, JobsStream); err != nil {
		return nil, fmt.Errorf("nats: stream JOBS: %w", err)
	}
	return &WorkQueue{js: js, log: log, durable: JobsConsumer, AckWait: 30 * time.Second, JobTimeout: 5 * time.Minute}, nil
}

// Enqueue adds a job message. dedupKey identifies this enqueueing: the
// same key within the duplicate window is stored once.
func (q *WorkQueue) Enqueue(ctx context.Context, kind, jobID, dedupKey string) error {
	msg := nats.NewMsg("jobs." + kind)
	msg.Data = []byte(jobID)
	span := startPublish(ctx, msg, dedupKey, "", "")
	_, err := q.js.PublishMsg(ctx, msg, jetstream.WithMsgID(dedupKey))
	end(span, err)
	if err != nil {
		return Unavailable(err)
	}
	return nil
}

// Park copies a job that will not be retried any more to the DLQ stream
// (subject dlq.jobs.<kind>, the job's JSON as the body, its last error in
// the Lattice-Error header), where operators find dead work beside dead
// events. The message id makes parking the same death twice harmless.
func (q *WorkQueue) Park(ctx context.Context, kind, jobID string, attempt int, body []byte, lastError string) error {
	msg := nats.NewMsg("dlq.jobs." + kind)
	msg.Data = body
	msg.Header.Set("Lattice-Job", jobID)
	msg.Header.Set("Lattice-Error", lastError)
	if _, err := q.js.PublishMsg(ctx, msg, jetstream.WithMsgID(fmt.Sprintf("dlq-job-%s-%d", jobID, attempt))); err != nil {
		return Unavailable(err)
	}
	return nil
}

// Verdict is what a handler decided about a job message.
type Verdict struct {
	Done       bool          // acknowledge (the job finished, for good or ill)
	RetryAfter time.Duration // otherwise redeliver after this long
}

// Work runs handle on up to concurrency jobs at a time until ctx ends.
// While a handler runs, the message's ack deadline is extended every
// AckWait/3, so long jobs are not redelivered to a second worker.
func (q *WorkQueue) Work(ctx context.Context, concurrency int, handle func(ctx context.Context, jobID string) Verdict) error {
	cons, err := q.js.CreateOrUpdateConsumer(ctx, JobsStream.Name, jetstream.ConsumerConfig{
		Durable: q.durable, AckPolicy: jetstream.AckExplicitPolicy, AckWait: q.AckWait,
		MaxAckPending: -1,
	})
	if err != nil {
		return fmt.Errorf("nats: consumer %s: %w", q.durable, err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(concurrency))
	if err != nil {
		return fmt.Errorf("nats: consume %s: %w", q.durable, err)
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	slots := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		msg, err := it.Next()
		if err != nil {
			<-slots
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) || ctx.Err() != nil {
				return nil
			}
			q.log.WarnContext(ctx, "job queue", "error", err)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			q.run(ctx, msg, handle)
		}()
	}
}

func (q *WorkQueue) run(ctx context.Context, msg jetstream.Msg, handle func(context.Context, string) Verdict) {
	traced, span := startProcess(ctx, msg.Subject(), msg.Headers(), q.durable)
	defer span.End()
	jobCtx, cancel := context.WithTimeout(traced, q.JobTimeout)
	defer cancel()
	beat := time.NewTicker(q.AckWait / 3)
	defer beat.Stop()
	// A handler that ignores its deadline gets a grace period, then its
	// slot is taken back; the message is redelivered after AckWait.
	abandon := time.NewTimer(q.JobTimeout + handlerGrace)
	defer abandon.Stop()
	done := make(chan Verdict, 1)
	go func() {
		// The heartbeat below keeps the message while the job waits its turn.
		ran := q.Gate.Background(jobCtx)
		defer ran()
		done <- handle(jobCtx, string(msg.Data()))
	}()
	for {
		select {
		case <-beat.C:
			if jobCtx.Err() == nil {
				_ = msg.InProgress()
			}
		case <-abandon.C:
			q.log.ErrorContext(ctx, "a job handler ignored its deadline; its worker slot is reclaimed", "job", string(msg.Data()))
			return
		case v := <-done:
			switch {
			case ctx.Err() != nil:
				// Shutting down: leave the message for redelivery.
			case v.Done:
				if err := msg.DoubleAck(ctx); err != nil {
					q.log.WarnContext(ctx, "acknowledge job", "job", string(msg.Data()), "error", err)
				}
			default:
				_ = msg.NakWithDelay(v.RetryAfter)
			}
			return
		}
	}
}

// handlerGrace is how long past its deadline a handler may take to record
// its outcome.
const handlerGrace = 10 * time.Second

// RegisterLag exports the queue's backlog as a metric.
func (q *WorkQueue) RegisterLag(reg prometheus.Registerer) error {
	return RegisterLag(reg, q.js, JobsStream.Name, q.durable)
}
