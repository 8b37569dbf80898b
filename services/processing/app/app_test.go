package app_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/extract"
	"github.com/lattice-platform/lattice/pkg/adapters/hashembed"
	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/pkg/ports/portstest"
	"github.com/lattice-platform/lattice/services/processing/app"
	"github.com/lattice-platform/lattice/services/processing/app/fake"
	"github.com/lattice-platform/lattice/services/processing/domain"
)

type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

// content is a fake ContentSource.
type content struct {
	mu    sync.Mutex
	text  map[string]string
	files map[string][2]string // id → content type, bytes
	fail  int                  // fail this many calls with Unavailable
}

func (c *content) ResourceText(_ context.Context, id string) (string, string, int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail > 0 {
		c.fail--
		return "", "", 0, fault.New(fault.Unavailable, "resource service down")
	}
	body, ok := c.text[id]
	if !ok {
		return "", "", 0, fault.New(fault.NotFound, "resource not found")
	}
	return "Title", body, 3, nil
}

func (c *content) FileContent(_ context.Context, _, fileID string) (io.ReadCloser, string, error) {
	f, ok := c.files[fileID]
	if !ok {
		return nil, "", fault.New(fault.NotFound, "file not found")
	}
	return io.NopCloser(strings.NewReader(f[1])), f[0], nil
}

func (c *content) FileIDs(_ context.Context, id string) ([]string, error) {
	if _, ok := c.text[id]; !ok {
		return nil, fault.New(fault.NotFound, "resource not found")
	}
	return []string{"f-md", "f-bad"}, nil
}

// queue is a fake JobQueue that records messages, dropping duplicates.
type queue struct {
	mu   sync.Mutex
	seen map[string]bool
	msgs []string
}

func (q *queue) Enqueue(_ context.Context, _, jobID, dedupKey string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.seen == nil {
		q.seen = map[string]bool{}
	}
	if !q.seen[dedupKey] {
		q.seen[dedupKey] = true
		q.msgs = append(q.msgs, jobID)
	}
	return nil
}

// access lets callers read the resources listed for them.
type access map[string][]string // bearer → resource ids

func (a access) Readable(ctx context.Context, bearer string, ids []string) ([]string, error) {
	var out []string
	for _, id := range ids {
		if a.CheckRead(ctx, bearer, id) == nil {
			out = append(out, id)
		}
	}
	return out, nil
}

func (a access) CheckRead(_ context.Context, bearer, resourceID string) error {
	for _, id := range a[bearer] {
		if id == resourceID {
			return nil
		}
	}
	return fault.New(fault.NotFound, "resource not found")
}

type sink struct {
	mu       sync.Mutex
	ready    []domain.ChunksReady
	rejected []string
}

func (s *sink) Ready(_ context.Context, c domain.ChunksReady) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ready = append(s.ready, c)
	return nil
}

func (s *sink) Rejected(_ context.Context, _, fileID, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejected = append(s.rejected, fileID+": "+reason)
	return nil
}

func setup(t *testing.T) (*app.Service, *content, *sink, *fake.JobStore) {
	svc, c, s, jobs, _, _ := setupWithQueue(t)
	return svc, c, s, jobs
}

func setupWithQueue(t *testing.T) (*app.Service, *content, *sink, *fake.JobStore, *queue, *portstest.AuditTrail) {
	t.Helper()
	return setupWithExtractor(t, extract.Extractor{})
}

func setupWithExtractor(t *testing.T, ex app.TextExtractor) (*app.Service, *content, *sink, *fake.JobStore, *queue, *portstest.AuditTrail) {
	t.Helper()
	c := &content{text: map[string]string{"r1": strings.Repeat("Lattice indexes resources for search. ", 60)},
		files: map[string][2]string{
			"f-md":  {"text/markdown", "# Notes\n\nHybrid search finds words and meanings."},
			"f-bad": {"application/json", `{"broken":`},
			"f-bin": {"image/png", "\x89PNG"},
		}}
	s := &sink{}
	jobs := fake.NewJobStore()
	q := &queue{}
	audit := &portstest.AuditTrail{}
	svc := app.New(app.Deps{Jobs: jobs, Content: c, Extractor: ex, Embedder: hashembed.Embedder{}, Sink: s,
		Queue: q, Access: access{"alice-token": {"r1"}}, Audit: audit,
		Clock: &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}, Jitter: func() float64 { return 0 }},
		app.Options{MaxAttempts: 3, Chunking: domain.ChunkOptions{Target: 400}})
	return svc, c, s, jobs, q, audit
}

func TestIntakeIsIdempotentPerEvent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, _, _, jobs := setup(t)
	a, ok, err := svc.Intake(ctx, app.Event{ID: "e1", Type: "resource.created", ResourceID: "r1", Version: 1})
	require.NoError(t, err)
	require.True(t, ok)
	b, ok, err := svc.Intake(ctx, app.Event{ID: "e1", Type: "resource.created", ResourceID: "r1", Version: 1})
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, a.ID, b.ID, "a redelivered event finds its job")
	_, ok, err = svc.Intake(ctx, app.Event{ID: "e2", Type: "resource.deleted", ResourceID: "r1"})
	require.NoError(t, err)
	require.False(t, ok)
	all, err := jobs.List(ctx, app.JobFilter{}, "", 10)
	require.NoError(t, err)
	require.Len(t, all, 1)
}

func TestRunIndexesAResource(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, _, s, _ := setup(t)
	_, ok, err := svc.Intake(ctx, app.Event{ID: "e0", Type: "resource.updated", ResourceID: "r1", Version: 2, Changed: []string{"visibility"}})
	require.NoError(t, err)
	require.False(t, ok, "a change that leaves the text alone needs no job")
	j, _, err := svc.Intake(ctx, app.Event{ID: "e1", Type: "resource.updated", ResourceID: "r1", Version: 2, Changed: []string{"body"}})
	require.NoError(t, err)
	out, err := svc.Run(ctx, j.ID)
	require.NoError(t, err)
	require.True(t, out.Done)
	require.Equal(t, domain.Succeeded, out.Job.State)
	require.Equal(t, 100, out.Job.Progress)
	require.Len(t, s.ready, 1)
	r := s.ready[0]
	require.EqualValues(t, 3, r.Version, "the current version is indexed")
	require.Equal(t, hashembed.Model, r.Model)
	require.Greater(t, len(r.Chunks), 3)
	require.Len(t, r.Chunks[0].Vector, 1024)

	// Running the same job again (a redelivery after success) does nothing.
	again, err := svc.Run(ctx, j.ID)
	require.NoError(t, err)
	require.True(t, again.Done)
	require.Len(t, s.ready, 1)
}

func TestRunRetriesTransientFailuresThenDies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, c, _, _ := setup(t)
	c.fail = 10
	j, _, err := svc.Intake(ctx, app.Event{ID: "e1", Type: "resource.created", ResourceID: "r1", Version: 1})
	require.NoError(t, err)
	for attempt := 1; attempt <= 2; attempt++ {
		out, err := svc.Run(ctx, j.ID)
		require.NoError(t, err)
		require.False(t, out.Done, "attempt %d is retried", attempt)
		require.Greater(t, out.RetryAfter, 0.0)
		require.Equal(t, domain.Queued, out.Job.State)
	}
	out, err := svc.Run(ctx, j.ID)
	require.NoError(t, err)
	require.True(t, out.Done)
	require.Equal(t, domain.Dead, out.Job.State)
	require.Equal(t, "resource service down", out.Job.LastError)
}

func TestBadFilesAreRejectedAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, _, s, _ := setup(t)
	for _, fid := range []string{"f-bad", "f-bin"} {
		j, _, err := svc.Intake(ctx, app.Event{ID: "up-" + fid, Type: "file.uploaded", ResourceID: "r1", FileID: fid})
		require.NoError(t, err)
		out, err := svc.Run(ctx, j.ID)
		require.NoError(t, err)
		require.True(t, out.Done)
		require.Equal(t, domain.Dead, out.Job.State, fid)
		require.Equal(t, 1, out.Job.Attempts, "no retries for a file that cannot be read")
	}
	require.Len(t, s.rejected, 2, "the resource service is told to mark both files rejected")
	require.Empty(t, s.ready)

	j, _, err := svc.Intake(ctx, app.Event{ID: "up-md", Type: "file.uploaded", ResourceID: "r1", FileID: "f-md"})
	require.NoError(t, err)
	out, err := svc.Run(ctx, j.ID)
	require.NoError(t, err)
	require.Equal(t, domain.Succeeded, out.Job.State)
	require.Contains(t, s.ready[0].Chunks[0].Text, "Hybrid search finds words and meanings.")
	require.Equal(t, "f-md", s.ready[0].FileID)
}

func TestDeletedContentEndsTheJob(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, _, s, _ := setup(t)
	j, _, err := svc.Intake(ctx, app.Event{ID: "e9", Type: "resource.created", ResourceID: "gone"})
	require.NoError(t, err)
	out, err := svc.Run(ctx, j.ID)
	require.NoError(t, err)
	require.True(t, out.Done)
	require.Equal(t, domain.Succeeded, out.Job.State, "nothing left to do")
	require.Empty(t, s.ready)
}

func TestAWorkerKilledMidJobIsRedone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, _, s, jobs := setup(t)
	j, _, err := svc.Intake(ctx, app.Event{ID: "e1", Type: "resource.created", ResourceID: "r1", Version: 1})
	require.NoError(t, err)
	// A worker started the job and died before finishing it.
	_, err = jobs.Update(ctx, j.ID, func(j domain.Job) (domain.Job, error) { return j.Start(time.Now()) })
	require.NoError(t, err)
	out, err := svc.Run(ctx, j.ID) // the redelivery
	require.NoError(t, err)
	require.Equal(t, domain.Succeeded, out.Job.State)
	require.Equal(t, 2, out.Job.Attempts)
	require.Len(t, s.ready, 1)
}

func TestCancelledJobsDoNotRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, _, s, jobs := setup(t)
	j, _, err := svc.Intake(ctx, app.Event{ID: "e1", Type: "resource.created", ResourceID: "r1"})
	require.NoError(t, err)
	_, err = jobs.Update(ctx, j.ID, func(j domain.Job) (domain.Job, error) { return j.Cancel(time.Now()) })
	require.NoError(t, err)
	out, err := svc.Run(ctx, j.ID)
	require.NoError(t, err)
	require.True(t, out.Done)
	require.Equal(t, domain.Cancelled, out.Job.State)
	require.Empty(t, s.ready)
	out, err = svc.Run(ctx, "no-such-job")
	require.NoError(t, err)
	require.True(t, out.Done)
	require.False(t, errors.Is(err, domain.ErrJobNotFound))
}

func TestIntakeQueuesEachJobOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, _, _, _, q, _ := setupWithQueue(t)
	for range 2 {
		_, _, err := svc.Intake(ctx, app.Event{ID: "e1", Type: "file.uploaded", ResourceID: "r1", FileID: "f-md"})
		require.NoError(t, err)
	}
	require.Len(t, q.msgs, 1, "a redelivered event re-queues under the same key, which the queue drops")
}

func TestJobAPIAuthorization(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, _, _, _, q, _ := setupWithQueue(t)
	j, _, err := svc.Intake(ctx, app.Event{ID: "e1", Type: "resource.created", ResourceID: "r1"})
	require.NoError(t, err)
	other, _, err := svc.Intake(ctx, app.Event{ID: "e2", Type: "resource.created", ResourceID: "r2"})
	require.NoError(t, err)

	alice := domain.Caller{Subject: "alice", Scopes: []string{domain.ScopeRead}, Bearer: "alice-token"}
	admin := domain.Caller{Subject: "root", Scopes: []string{domain.ScopeAdmin}}

	got, err := svc.GetJob(ctx, alice, j.ID)
	require.NoError(t, err)
	require.Equal(t, j.ID, got.ID)
	_, err = svc.GetJob(ctx, alice, other.ID)
	require.ErrorIs(t, err, domain.ErrJobNotFound, "a job of an unreadable resource does not exist for the caller")
	_, err = svc.GetJob(ctx, domain.Caller{}, j.ID)
	require.True(t, fault.Of(err, fault.Unauthenticated))

	list, err := svc.ListJobs(ctx, alice, app.JobFilter{ResourceID: "r1"}, "", 10)
	require.NoError(t, err)
	require.Len(t, list, 1)
	list, err = svc.ListJobs(ctx, alice, app.JobFilter{ResourceID: "r2"}, "", 10)
	require.NoError(t, err)
	require.Empty(t, list)
	_, err = svc.ListJobs(ctx, alice, app.JobFilter{}, "", 10)
	require.True(t, fault.Of(err, fault.Forbidden))
	list, err = svc.ListJobs(ctx, admin, app.JobFilter{}, "", 10)
	require.NoError(t, err)
	require.Len(t, list, 2)

	_, err = svc.CancelJob(ctx, alice, j.ID)
	require.True(t, fault.Of(err, fault.Forbidden))
	cancelled, err := svc.CancelJob(ctx, admin, j.ID)
	require.NoError(t, err)
	require.Equal(t, domain.Cancelled, cancelled.State)
	_, err = svc.CancelJob(ctx, admin, j.ID)
	require.ErrorIs(t, err, domain.ErrJobFinished)
	before := len(q.msgs)
	retried, err := svc.RetryJob(ctx, admin, j.ID)
	require.NoError(t, err)
	require.Equal(t, domain.Queued, retried.State)
	require.Len(t, q.msgs, before+1, "a retry queues a new message")
}

func TestReindexRedoesBodyAndFiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, c, s, _, q, audit := setupWithQueue(t)
	const rid = "0193a1b2-0000-7000-8000-000000000001"
	c.text[rid] = "Reindexed body text."
	admin := domain.Caller{Subject: "root", Scopes: []string{domain.ScopeAdmin}}
	_, err := svc.EnqueueReindex(ctx, admin, "not-a-uuid")
	require.True(t, fault.Of(err, fault.Invalid))
	_, err = svc.EnqueueReindex(ctx, domain.Caller{Subject: "alice", Scopes: []string{domain.ScopeRead}}, rid)
	require.True(t, fault.Of(err, fault.Forbidden))

	j, err := svc.EnqueueReindex(ctx, admin, rid)
	require.NoError(t, err)
	require.Equal(t, []string{j.ID}, q.msgs)
	out, err := svc.Run(ctx, j.ID)
	require.NoError(t, err)
	require.Equal(t, domain.Succeeded, out.Job.State)
	require.Len(t, s.ready, 2, "the body and the readable file; the corrupt file is skipped")
	require.Equal(t, "", s.ready[0].FileID)
	require.Contains(t, s.ready[0].Chunks[0].Text, "Reindexed body text.")
	require.Equal(t, "f-md", s.ready[1].FileID)
	require.Empty(t, s.rejected, "a reindex never rejects files")

	// The admin action was recorded (only the one that was allowed), and
	// one that cannot be recorded is refused before anything is queued.
	require.Equal(t, []ports.AuditEntry{{Actor: "root", Action: "job.reindex", Target: "resource/" + rid,
		Details: map[string]any{"job": j.ID}}}, audit.Entries())
	audit.Fail = errors.New("bus down")
	_, err = svc.EnqueueReindex(ctx, admin, rid)
	require.True(t, fault.Of(err, fault.Unavailable), "%v", err)
	require.Len(t, q.msgs, 1)
}

// stuckExtractor never finishes on its own: it returns only when its
// context ends, like a parser looping on a hostile file would if it could
// be interrupted at all.
type stuckExtractor struct{}

func (stuckExtractor) Extract(ctx context.Context, _ string, _ io.Reader) (string, error) {
	<-ctx.Done()
	return "", ctx.Err()
}

// limitExtractor rejects every file as the sandbox does one that breaks a
// limit.
type limitExtractor struct{}

func (limitExtractor) Extract(context.Context, string, io.Reader) (string, error) {
	return "", fault.New(fault.Invalid, extract.ReasonTime)
}

func TestAnAttemptPastItsDeadlineFailsAndIsRecorded(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		extractor app.TextExtractor
		state     domain.JobState
		lastError string
		rejected  []string
	}{
		{"the job's deadline: retried", stuckExtractor{}, domain.Queued, "the job exceeded its time limit", nil},
		{"the file broke an extraction limit: rejected at once", limitExtractor{}, domain.Dead, extract.ReasonTime,
			[]string{"f-md: " + extract.ReasonTime}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			svc, _, s, _, _, _ := setupWithExtractor(t, tt.extractor)
			j, _, err := svc.Intake(context.Background(), app.Event{ID: "up", Type: "file.uploaded", ResourceID: "r1", FileID: "f-md"})
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			out, err := svc.Run(ctx, j.ID)
			require.NoError(t, err, "the outcome is recorded although the attempt's context has ended")
			require.Equal(t, tt.state, out.Job.State)
			require.Equal(t, tt.lastError, out.Job.LastError)
			require.Equal(t, 1, out.Job.Attempts)
			require.Equal(t, tt.rejected, s.rejected)
		})
	}
}

// recordingJobs is a JobStore that keeps every state an update stored.
type recordingJobs struct {
	*fake.JobStore
	mu     sync.Mutex
	stored []domain.Job
}

func (r *recordingJobs) Update(ctx context.Context, id string, change func(domain.Job) (domain.Job, error)) (domain.Job, error) {
	j, err := r.JobStore.Update(ctx, id, change)
	if err == nil {
		r.mu.Lock()
		r.stored = append(r.stored, j)
		r.mu.Unlock()
	}
	return j, err
}

// slowEmbedder is hashembed whose every call takes step of the clock.
type slowEmbedder struct {
	hashembed.Embedder
	clock *clock
	step  time.Duration
}

func (e slowEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	e.clock.t = e.clock.t.Add(e.step)
	return e.Embedder.Embed(ctx, texts)
}

// runIndexJob runs a resource's job with one chunk an embedding call,
// each taking step, and returns the states its updates stored and how
// many chunks it embedded.
func runIndexJob(t *testing.T, step time.Duration) ([]domain.Job, int) {
	t.Helper()
	ctx := context.Background()
	c := &content{text: map[string]string{"r1": strings.Repeat("Lattice indexes resources for search. ", 60)}}
	clk := &clock{t: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)}
	jobs := &recordingJobs{JobStore: fake.NewJobStore()}
	ready := &sink{}
	svc := app.New(app.Deps{Jobs: jobs, Content: c, Extractor: extract.Extractor{}, Embedder: slowEmbedder{clock: clk, step: step},
		Sink: ready, Queue: &queue{}, Access: access{}, Audit: &portstest.AuditTrail{}, Clock: clk, Jitter: func() float64 { return 0 }},
		app.Options{Chunking: domain.ChunkOptions{Target: 400}, EmbedBatch: 1, ProgressEvery: time.Second})
	j, _, err := svc.Intake(ctx, app.Event{ID: "e1", Type: "resource.created", ResourceID: "r1", Version: 1})
	require.NoError(t, err)
	out, err := svc.Run(ctx, j.ID)
	require.NoError(t, err)
	require.Equal(t, domain.Succeeded, out.Job.State)
	require.Len(t, ready.ready, 1)
	return jobs.stored, len(ready.ready[0].Chunks)
}

func TestAJobDoneWithinASecondRecordsNoProgress(t *testing.T) {
	t.Parallel()
	stored, _ := runIndexJob(t, time.Millisecond)
	require.Len(t, stored, 2, "started and succeeded: nothing between")
	require.Equal(t, domain.Running, stored[0].State)
	require.Equal(t, 0, stored[0].Progress)
	require.Equal(t, domain.Succeeded, stored[1].State)
}

func TestALongJobRecordsItsProgressEverySecond(t *testing.T) {
	t.Parallel()
	// Each chunk's embedding takes 0.6 s: a report every second chunk,
	// 1.2 s after the one before, none after 0.6 s.
	stored, chunks := runIndexJob(t, 600*time.Millisecond)
	require.Greater(t, chunks, 3)
	require.Equal(t, domain.Succeeded, stored[len(stored)-1].State)
	started, reports := stored[0], stored[1:len(stored)-1]
	require.Len(t, reports, chunks/2)
	for i, j := range reports {
		require.Equal(t, domain.Running, j.State)
		require.Equal(t, time.Duration(i+1)*1200*time.Millisecond, j.UpdatedAt.Sub(started.UpdatedAt), "report %d", i)
		require.Greater(t, j.Progress, 25, "report %d is after some embedding", i)
		require.Less(t, j.Progress, 100)
		if i > 0 {
			require.Greater(t, j.Progress, reports[i-1].Progress)
		}
	}
}
