// Package processingsvc wires the processing service on NATS JetStream:
// job state in a KV bucket, the JOBS work-queue stream, intake from the
// EVENTS stream, chunk sets in the object store; resources are read
// through the resource service's API.
package processingsvc

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lattice-platform/lattice/pkg/adapters/extract"
	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	"github.com/lattice-platform/lattice/pkg/adapters/natsjs/chunksink"
	"github.com/lattice-platform/lattice/pkg/adapters/natsjs/jobstore"
	"github.com/lattice-platform/lattice/pkg/adapters/resourceapi"
	"github.com/lattice-platform/lattice/pkg/events"
	"github.com/lattice-platform/lattice/pkg/platform/health"
	"github.com/lattice-platform/lattice/pkg/platform/httpserver"
	"github.com/lattice-platform/lattice/pkg/platform/observe"
	"github.com/lattice-platform/lattice/pkg/platform/priority"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/processing/app"
	"github.com/lattice-platform/lattice/services/processing/domain"
	"github.com/lattice-platform/lattice/services/processing/eventsapi"
	"github.com/lattice-platform/lattice/services/processing/httpapi"
)

// Name is the service's name in logs, metrics and traces.
const Name = "processing"

// IntakeConsumer is the durable EVENTS consumer that turns events into jobs.
const IntakeConsumer = "processing-intake"

// JobBucket is the JetStream key-value bucket holding the jobs.
const JobBucket = "jobs"

// Config is the processing service's configuration.
type Config struct {
	JetStream   jetstream.JetStream
	Publisher   ports.EventPublisher
	Subscriber  ports.EventSubscriber
	Verifier    ports.TokenVerifier
	Embedder    ports.Embedder
	ResourceURL string       // the resource service's base URL
	ServiceHTTP *http.Client // carries the service credential (client credentials)
	// Transport is the base of calls without the service credential (TLS
	// and the client certificate, when configured); nil: the default.
	Transport   *http.Transport
	Concurrency int // jobs run at once per process; default 4
	AckWait     time.Duration
	// JobTimeout bounds one attempt of a job; past it the attempt fails
	// (and is retried up to MaxAttempts). Default 5m.
	JobTimeout  time.Duration
	MaxAttempts int
	// Extraction bounds the sandboxed child that parses each file;
	// ExtractCommand starts it (default: this executable's `extract`).
	Extraction     extract.Limits
	ExtractCommand []string
	Backoff        domain.Backoff
	// ChunkSetType is the media type chunk sets are stored in:
	// events.ChunkSetCBOR (the default) or events.ChunkSetJSON, for a
	// search that predates CBOR sets during a rolling upgrade (ADR 0042).
	ChunkSetType string
	// InlineChunkBytes is the largest chunk set, as JSON, that travels in
	// its chunks.ready event rather than through the object store: 0 for
	// DefaultInlineChunkBytes, negative for none, for a search that
	// predates such events (ADR 0054).
	InlineChunkBytes int
	Clock            ports.Clock
	// Gate, when set, paces the jobs while the process serves requests
	// (ADR 0034).
	Gate *priority.Gate
}

// Service is a wired processing service.
type Service struct {
	App    *app.Service
	HTTP   httpserver.Service
	Queue  *natsjs.WorkQueue
	events *eventsapi.Handler
	cfg    Config
	log    *slog.Logger
	jobs   jobMetrics
}

// jobMetrics count job attempts by kind and outcome, and time them.
type jobMetrics struct {
	attempts *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newJobMetrics(reg prometheus.Registerer) (jobMetrics, error) {
	m := jobMetrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lattice_job_attempts_total",
			Help: "Job attempts by kind and outcome: succeeded, retrying, dead, cancelled, or unrecorded (the job store did not answer)."},
			[]string{"kind", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lattice_job_attempt_duration_seconds",
			Help: "How long job attempts took, by kind and outcome.", Buckets: prometheus.ExponentialBuckets(0.01, 3, 10)},
			[]string{"kind", "outcome"}),
	}
	for _, c := range []prometheus.Collector{m.attempts, m.duration} {
		if err := reg.Register(c); err != nil {
			return jobMetrics{}, err
		}
	}
	return m, nil
}

func (m jobMetrics) observe(kind, outcome string, took time.Duration) {
	m.attempts.WithLabelValues(kind, outcome).Inc()
	m.duration.WithLabelValues(kind, outcome).Observe(took.Seconds())
}

// New builds the service.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Service, error) {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.Clock == nil {
		cfg.Clock = ports.SystemClock{}
	}
	jobs, err := jobstore.New(ctx, cfg.JetStream, JobBucket)
	if err != nil {
		return nil, err
	}
	queue, err := natsjs.NewWorkQueue(ctx, cfg.JetStream, log)
	if err != nil {
		return nil, err
	}
	queue.Gate = cfg.Gate
	if cfg.AckWait > 0 {
		queue.AckWait = cfg.AckWait
	}
	if cfg.JobTimeout > 0 {
		queue.JobTimeout = cfg.JobTimeout
	}
	obs, err := natsjs.OpenChunkBucket(ctx, cfg.JetStream)
	if err != nil {
		return nil, err
	}
	plain := &http.Client{Timeout: 10 * time.Second}
	if cfg.Transport != nil {
		plain.Transport = cfg.Transport
	}
	resources, err := resourceapi.New(cfg.ResourceURL, cfg.ServiceHTTP, plain)
	if err != nil {
		return nil, err
	}
	if cfg.ChunkSetType == "" {
		cfg.ChunkSetType = events.ChunkSetCBOR
	}
	if cfg.InlineChunkBytes == 0 {
		cfg.InlineChunkBytes = DefaultInlineChunkBytes
	}
	sink, err := chunksink.New(obs, cfg.Publisher, cfg.ChunkSetType, max(cfg.InlineChunkBytes, 0))
	if err != nil {
		return nil, err
	}
	svc := app.New(app.Deps{
		Jobs: jobs, Content: resources, Extractor: extract.Sandbox{Command: cfg.ExtractCommand, Limits: cfg.Extraction}, Embedder: cfg.Embedder,
		Sink: sink, Queue: queue, Access: resources, Clock: cfg.Clock,
		Audit: natsjs.NewAuditTrail(cfg.Publisher, Name),
	}, app.Options{MaxAttempts: cfg.MaxAttempts, Backoff: cfg.Backoff})
	api, err := httpapi.Handler(svc, cfg.Verifier)
	if err != nil {
		return nil, err
	}
	metrics := observe.NewMetrics(Name)
	if err := queue.RegisterLag(metrics.Registry); err != nil {
		return nil, err
	}
	if err := natsjs.RegisterStreamSize(metrics.Registry, cfg.JetStream, "DLQ"); err != nil {
		return nil, err
	}
	if err := natsjs.RegisterLag(metrics.Registry, cfg.JetStream, natsjs.EventsStream, IntakeConsumer); err != nil {
		return nil, err
	}
	jm, err := newJobMetrics(metrics.Registry)
	if err != nil {
		return nil, err
	}
	return &Service{
		App: svc, Queue: queue, events: eventsapi.New(svc, log), cfg: cfg, log: log, jobs: jm,
		HTTP: httpserver.Service{Name: Name, API: api, Checks: health.Checks{"nats": natsjs.Ping(cfg.JetStream)}, Metrics: metrics, Logger: log},
	}, nil
}

// Run consumes events and works jobs until ctx ends.
func (s *Service) Run(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.cfg.Subscriber.Subscribe(ctx, IntakeConsumer, eventsapi.Subjects, s.events.Intake); err != nil {
			s.log.ErrorContext(ctx, "event intake stopped", "error", err)
		}
	}()
	defer func() { <-done }()
	if err := s.Queue.Work(ctx, s.cfg.Concurrency, s.work); err != nil {
		s.log.ErrorContext(ctx, "job workers stopped", "error", err)
	}
}

// work runs one attempt of a job.
func (s *Service) work(ctx context.Context, jobID string) natsjs.Verdict {
	began := time.Now()
	out, err := s.App.Run(ctx, jobID)
	if err != nil {
		s.jobs.observe("unknown", "unrecorded", time.Since(began))
		s.log.WarnContext(ctx, "job attempt could not be recorded; redelivering", "job", jobID, "error", err)
		return natsjs.Verdict{RetryAfter: 5 * time.Second}
	}
	outcome := "retrying"
	if out.Done {
		outcome = string(out.Job.State)
	}
	s.jobs.observe(string(out.Job.Kind), outcome, time.Since(began))
	if out.Done {
		s.log.InfoContext(ctx, "job finished", "job", jobID, "state", out.Job.State, "attempts", out.Job.Attempts)
		if out.Job.State == domain.Dead {
			body, _ := json.Marshal(map[string]any{"id": out.Job.ID, "kind": out.Job.Kind, "resource_id": out.Job.ResourceID,
				"file_id": out.Job.FileID, "attempts": out.Job.Attempts, "last_error": out.Job.LastError})
			if err := s.Queue.Park(ctx, string(out.Job.Kind), out.Job.ID, out.Job.Attempts, body, out.Job.LastError); err != nil {
				// The job is dead in the job store either way; the copy is
				// for operators, so it is not worth redoing the job for.
				s.log.WarnContext(ctx, "could not park a dead job in the DLQ", "job", jobID, "error", err)
			}
		}
		return natsjs.Verdict{Done: true}
	}
	s.log.InfoContext(ctx, "job attempt failed; retrying", "job", jobID, "attempt", out.Job.Attempts, "error", out.Job.LastError, "retry_after_s", out.RetryAfter)
	return natsjs.Verdict{RetryAfter: time.Duration(out.RetryAfter * float64(time.Second))}
}

// Close releases nothing: the bus connection belongs to the caller.
func (s *Service) Close() {}
