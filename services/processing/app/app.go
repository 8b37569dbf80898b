// Package app holds the processing service's use cases: turning resource
// events into jobs, and running a job — read the content, extract text,
// chunk, embed, deliver — with retries, dead-lettering and progress. It
// depends only on the domain and pkg/ports.
package app

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/processing/domain"
)

// Deps are the adapters the use cases need.
type Deps struct {
	Jobs      JobStore
	Content   ContentSource
	Extractor TextExtractor
	Embedder  ports.Embedder
	Sink      ChunkSink
	Queue     JobQueue
	Access    ports.ResourceAccess
	Clock     ports.Clock
	// Audit records admin actions before they are carried out.
	Audit ports.AuditTrail
	// Jitter returns a number in [0,1) for retry spreading; nil uses
	// math/rand.
	Jitter func() float64
}

// Options tune processing; zero values take the defaults.
type Options struct {
	MaxAttempts int            // default 5
	Backoff     domain.Backoff // default 2s doubling to 5m
	Chunking    domain.ChunkOptions
	EmbedBatch  int // chunks per embedding call (default 32)
	// ProgressEvery is the least time between two records of a running
	// job's progress (default 1s). Each is a write to the job store; a
	// resource's job, done in milliseconds, made three of them for a
	// percentage nobody could have read before it was 100.
	ProgressEvery time.Duration
}

// Service runs the processing use cases.
type Service struct {
	deps Deps
	opts Options
}

// New returns a Service.
func New(deps Deps, opts Options) *Service {
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = 5
	}
	if opts.Backoff == (domain.Backoff{}) {
		opts.Backoff = domain.Backoff{Base: 2 * time.Second, Max: 5 * time.Minute}
	}
	if opts.EmbedBatch == 0 {
		opts.EmbedBatch = 32
	}
	if opts.ProgressEvery == 0 {
		opts.ProgressEvery = time.Second
	}
	if deps.Jitter == nil {
		deps.Jitter = rand.Float64
	}
	return &Service{deps: deps, opts: opts}
}

// Event is what intake needs of a resource event.
type Event struct {
	ID         string // the CloudEvents id
	Type       string // resource.created, resource.updated, file.uploaded
	ResourceID string
	Version    int64
	FileID     string
	Changed    []string // resource.updated: the fields that changed
}

// Intake turns an event into a queued job and returns it; other event
// types are ignored (ok false).
func (s *Service) Intake(ctx context.Context, e Event) (job domain.Job, ok bool, err error) {
	var kind domain.JobKind
	switch e.Type {
	case "resource.created":
		kind = domain.KindIndexResource
	case "resource.updated":
		if !slices.Contains(e.Changed, "title") && !slices.Contains(e.Changed, "body") {
			// Visibility, tags and metadata reach search from the event
			// itself; the text to embed did not change.
			return domain.Job{}, false, nil
		}
		kind = domain.KindIndexResource
	case "file.uploaded":
		kind = domain.KindExtractFile
	default:
		return domain.Job{}, false, nil
	}
	now := s.deps.Clock.Now()
	// The job takes the event's id (a UUIDv7): a redelivered event finds its
	// job, and job ids sort by creation like every other id.
	j := domain.Job{ID: e.ID, Kind: kind,
		ResourceID: e.ResourceID, ResourceVersion: e.Version, FileID: e.FileID, State: domain.Queued,
		MaxAttempts: s.opts.MaxAttempts, CreatedAt: now, UpdatedAt: now, NextAttemptAt: now}
	err = s.deps.Jobs.Create(ctx, j)
	if fault.Of(err, fault.Conflict) {
		// A redelivered event: the job exists, but its message may not have
		// been queued before the crash that caused the redelivery.
		if j, err = s.deps.Jobs.Get(ctx, j.ID); err != nil {
			return domain.Job{}, false, err
		}
	} else if err != nil {
		return domain.Job{}, false, err
	}
	return j, true, s.deps.Queue.Enqueue(ctx, string(j.Kind), j.ID, j.ID)
}

// Outcome tells the queue what to do with a job's message.
type Outcome struct {
	Done       bool // acknowledge: succeeded, dead, cancelled or gone
	RetryAfter float64
	Job        domain.Job
}

// Run performs one attempt of a job. Only after the results are delivered
// is the job marked succeeded (and its message acknowledged), so a worker
// killed mid-job leaves it to be redelivered and redone; the chunk ids are
// content-derived, so redoing it changes nothing downstream.
func (s *Service) Run(ctx context.Context, jobID string) (Outcome, error) {
	job, err := s.deps.Jobs.Update(ctx, jobID, func(j domain.Job) (domain.Job, error) {
		if j.State == domain.Running {
			// A previous worker died mid-attempt: this is its redelivery.
			j.State = domain.Queued
		}
		return j.Start(s.deps.Clock.Now())
	})
	switch {
	case errors.Is(err, domain.ErrJobNotFound):
		return Outcome{Done: true}, nil
	case errors.Is(err, domain.ErrJobNotRunnable):
		current, gerr := s.deps.Jobs.Get(ctx, jobID)
		return Outcome{Done: true, Job: current}, gerr // cancelled, finished or dead already
	case err != nil:
		return Outcome{}, err
	}
	runErr := s.process(ctx, job)
	if errors.Is(runErr, context.Canceled) && ctx.Err() != nil {
		// Shutting down: the job stays running and its message is
		// redelivered, which resumes it.
		return Outcome{}, runErr
	}
	// An attempt that ran out of time still records its outcome.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	now := s.deps.Clock.Now()
	if runErr == nil {
		job, err = s.deps.Jobs.Update(ctx, jobID, func(j domain.Job) (domain.Job, error) {
			if j.State != domain.Running { // cancelled meanwhile: keep the user's decision
				return j, nil
			}
			return j.Succeed(now), nil
		})
		return Outcome{Done: true, Job: job}, err
	}
	permanent := fault.Of(runErr, fault.Invalid) || fault.Of(runErr, fault.UnsupportedMedia) || fault.Of(runErr, fault.TooLarge)
	gone := fault.Of(runErr, fault.NotFound)
	job, err = s.deps.Jobs.Update(ctx, jobID, func(j domain.Job) (domain.Job, error) {
		if j.State != domain.Running {
			return j, nil
		}
		if gone { // deleted since: nothing left to do
			return j.Succeed(now), nil
		}
		return j.Fail(failureText(runErr), permanent, s.opts.Backoff, s.deps.Jitter(), now), nil
	})
	if err != nil {
		return Outcome{}, err
	}
	if job.State == domain.Dead && job.Kind == domain.KindExtractFile && permanent {
		// The compensating step of the upload saga: tell the resource
		// service to mark the file rejected.
		if err := s.deps.Sink.Rejected(ctx, job.ResourceID, job.FileID, job.LastError); err != nil {
			return Outcome{}, err
		}
	}
	if job.State == domain.Queued {
		return Outcome{RetryAfter: job.NextAttemptAt.Sub(now).Seconds(), Job: job}, nil
	}
	return Outcome{Done: true, Job: job}, nil
}

// recordTimeout bounds recording an attempt's outcome after its deadline.
const recordTimeout = 10 * time.Second

// failureText keeps the client-safe message of classified errors.
func failureText(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "the job exceeded its time limit"
	}
	var fe *fault.Error
	if errors.As(err, &fe) {
		return fe.Message
	}
	return "internal error"
}

func (s *Service) process(ctx context.Context, job domain.Job) error {
	p := &progress{s: s, id: job.ID, last: job.UpdatedAt}
	if job.Kind == domain.KindReindex {
		return s.reindex(ctx, job, p)
	}
	return s.processText(ctx, job, p, 0, 100)
}

// reindex redoes a resource's body and then each of its files, as one job.
func (s *Service) reindex(ctx context.Context, job domain.Job, p *progress) error {
	files, err := s.deps.Content.FileIDs(ctx, job.ResourceID)
	if err != nil {
		return err
	}
	parts := len(files) + 1
	body := job
	body.Kind = domain.KindIndexResource
	if err := s.processText(ctx, body, p, 0, 100/parts); err != nil {
		return err
	}
	for i, id := range files {
		file := job
		file.Kind, file.FileID = domain.KindExtractFile, id
		err := s.processText(ctx, file, p, 100*(i+1)/parts, 100*(i+2)/parts)
		if fault.Of(err, fault.NotFound) || fault.Of(err, fault.Invalid) || fault.Of(err, fault.UnsupportedMedia) {
			continue // deleted since, or rejected on upload: nothing to index
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// processText indexes one text, reporting progress from `from` to `to`
// percent.
func (s *Service) processText(ctx context.Context, job domain.Job, p *progress, from, to int) error {
	var text string
	version := job.ResourceVersion
	span := to - from
	switch job.Kind {
	case domain.KindIndexResource:
		title, body, v, err := s.deps.Content.ResourceText(ctx, job.ResourceID)
		if err != nil {
			return err
		}
		text, version = strings.TrimSpace(title+"\n\n"+body), v
	case domain.KindExtractFile:
		rc, ctype, err := s.deps.Content.FileContent(ctx, job.ResourceID, job.FileID)
		if err != nil {
			return err
		}
		text, err = s.deps.Extractor.Extract(ctx, ctype, rc)
		rc.Close()
		if err != nil {
			return err
		}
	default:
		return fault.New(fault.Invalid, "unknown job kind "+string(job.Kind))
	}
	p.report(ctx, from+span/4)
	owner := job.ResourceID + "/" + job.FileID
	chunks := domain.Split(owner, text, s.opts.Chunking)
	ready := domain.ChunksReady{ResourceID: job.ResourceID, Version: version, FileID: job.FileID,
		Model: s.deps.Embedder.Model(), Dimensions: s.deps.Embedder.Dimensions()}
	for start := 0; start < len(chunks); start += s.opts.EmbedBatch {
		batch := chunks[start:min(start+s.opts.EmbedBatch, len(chunks))]
		texts := make([]string, len(batch))
		for i, c := range batch {
			texts[i] = c.Text
		}
		vecs, err := s.deps.Embedder.Embed(ctx, texts)
		if err != nil {
			return err
		}
		for i, c := range batch {
			ready.Chunks = append(ready.Chunks, domain.EmbeddedChunk{Chunk: c, Vector: vecs[i]})
		}
		p.report(ctx, from+span/4+span*7/10*(start+len(batch))/max(len(chunks), 1))
	}
	return s.deps.Sink.Ready(ctx, ready)
}

// progress records a running job's percentage, at most every
// ProgressEvery: a job done sooner is seen queued, running, then done.
type progress struct {
	s    *Service
	id   string
	last time.Time // when the job's progress was last recorded, or it started
}

// report records percent if ProgressEvery has passed since the last
// record; losing one only makes the number lag, so failures are ignored.
func (p *progress) report(ctx context.Context, percent int) {
	now := p.s.deps.Clock.Now()
	if now.Sub(p.last) < p.s.opts.ProgressEvery {
		return
	}
	p.last = now
	_, _ = p.s.deps.Jobs.Update(ctx, p.id, func(j domain.Job) (domain.Job, error) {
		if j.State != domain.Running {
			return j, nil
		}
		return j.Report(percent, now), nil
	})
}
