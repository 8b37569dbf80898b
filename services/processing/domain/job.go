package domain

import (
	"math"
	"time"

	"github.com/lattice-platform/lattice/pkg/fault"
)

// JobKind says what a job does.
type JobKind string

// The job kinds.
const (
	KindExtractFile   JobKind = "extract_file"   // extract, chunk and embed an uploaded file
	KindIndexResource JobKind = "index_resource" // chunk and embed a resource's body
	KindReindex       JobKind = "reindex"        // rebuild everything (admin)
)

// JobState is where a job is in its life.
type JobState string

// The states. Queued jobs wait (possibly until NextAttemptAt); failed
// attempts go back to queued until MaxAttempts, then the job is dead and
// parked in the DLQ with its last error.
const (
	Queued    JobState = "queued"
	Running   JobState = "running"
	Succeeded JobState = "succeeded"
	Dead      JobState = "dead"
	Cancelled JobState = "cancelled"
)

// Job is a unit of background work with its progress and history.
type Job struct {
	ID              string
	Kind            JobKind
	ResourceID      string
	ResourceVersion int64
	FileID          string
	State           JobState
	Attempts        int
	MaxAttempts     int
	Progress        int // percent, 0–100
	LastError       string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	NextAttemptAt   time.Time
}

// Backoff spaces retries: Base doubled per attempt up to Max, with full
// jitter so retries from many jobs do not arrive together.
type Backoff struct {
	Base, Max time.Duration
}

// Delay is the wait before attempt n+1 after n failed attempts; jitter is
// a number in [0,1).
func (b Backoff) Delay(n int, jitter float64) time.Duration {
	d := float64(b.Base) * math.Pow(2, float64(n-1))
	if d > float64(b.Max) || math.IsInf(d, 0) {
		d = float64(b.Max)
	}
	return time.Duration(d/2 + d/2*jitter)
}

// Errors of job transitions.
var (
	ErrJobNotFound    = fault.New(fault.NotFound, "job not found")
	ErrJobNotRunnable = fault.New(fault.Conflict, "the job is not waiting to run")
	ErrJobFinished    = fault.New(fault.Conflict, "the job has already finished")
	ErrJobNotRetrying = fault.New(fault.Conflict, "only dead or cancelled jobs can be retried")
)

// Start marks the beginning of an attempt.
func (j Job) Start(now time.Time) (Job, error) {
	if j.State != Queued {
		return j, ErrJobNotRunnable
	}
	j.State, j.Attempts, j.Progress, j.UpdatedAt = Running, j.Attempts+1, 0, now
	return j, nil
}

// Report records progress of a running job.
func (j Job) Report(percent int, now time.Time) Job {
	j.Progress, j.UpdatedAt = min(max(percent, 0), 100), now
	return j
}

// Succeed finishes the job.
func (j Job) Succeed(now time.Time) Job {
	j.State, j.Progress, j.LastError, j.UpdatedAt = Succeeded, 100, "", now
	return j
}

// Fail ends an attempt: the job is queued again after a backoff, or dead
// once it has used MaxAttempts. A permanent failure (a corrupt file) goes
// straight to dead.
func (j Job) Fail(reason string, permanent bool, b Backoff, jitter float64, now time.Time) Job {
	j.LastError, j.UpdatedAt = reason, now
	if permanent || j.Attempts >= j.MaxAttempts {
		j.State = Dead
		return j
	}
	j.State, j.NextAttemptAt = Queued, now.Add(b.Delay(j.Attempts, jitter))
	return j
}

// Cancel stops a job that has not finished.
func (j Job) Cancel(now time.Time) (Job, error) {
	switch j.State {
	case Succeeded, Dead, Cancelled:
		return j, ErrJobFinished
	}
	j.State, j.UpdatedAt = Cancelled, now
	return j, nil
}

// Retry queues a dead or cancelled job again with a fresh attempt budget.
func (j Job) Retry(now time.Time) (Job, error) {
	if j.State != Dead && j.State != Cancelled {
		return j, ErrJobNotRetrying
	}
	j.State, j.Attempts, j.Progress, j.NextAttemptAt, j.UpdatedAt = Queued, 0, 0, now, now
	return j, nil
}

// EmbeddedChunk is a chunk with its vector.
type EmbeddedChunk struct {
	Chunk
	Vector []float32
}

// ChunksReady is the result of processing one text: the chunks that replace
// everything earlier derived from the same resource (and file), with the
// model that embedded them.
type ChunksReady struct {
	ResourceID string
	Version    int64
	FileID     string // empty for the resource's own body
	Model      string
	Dimensions int
	Chunks     []EmbeddedChunk
}
