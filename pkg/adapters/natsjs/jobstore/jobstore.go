// Package jobstore is the processing service's job store: one JetStream
// key-value entry per job, updated with compare-and-set on its revision, so
// concurrent workers never lose one another's changes.
package jobstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/services/processing/app"
	"github.com/lattice-platform/lattice/services/processing/domain"
)

// Store is the JetStream key-value app.JobStore: one key per job,
// updated with compare-and-set on the key's revision.
type Store struct {
	kv      jetstream.KeyValue
	timeout time.Duration // callTimeout; tests shorten it

	// seen holds the jobs this store last wrote, with their revisions, so
	// that updating one need not read it first: a job's run updates it
	// several times (running, progress, done), and each read was a
	// JetStream API request. A revision names exactly one stored value, so
	// a write on a remembered revision that another writer has since
	// moved on fails, and the job is then read as before.
	mu   sync.Mutex
	seen map[string]seenJob
}

// seenJob is a job as this store last wrote it, at its revision.
type seenJob struct {
	job domain.Job
	rev uint64
}

// maxSeen bounds the remembered jobs: a process runs a few jobs at a time.
const maxSeen = 1024

func (s *Store) remember(id string, j domain.Job, rev uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.seen[id]; !ok && len(s.seen) >= maxSeen {
		for id := range s.seen { // any one: a job forgotten is only read again
			delete(s.seen, id)
			break
		}
	}
	s.seen[id] = seenJob{job: j, rev: rev}
}

func (s *Store) recall(id string) (seenJob, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.seen[id]
	return j, ok
}

func (s *Store) forget(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.seen, id)
}

var _ app.JobStore = (*Store)(nil)

// callTimeout bounds one key-value call. A reply lost while a cluster node
// restarts would otherwise hold the caller until its own deadline (a job's
// is minutes): bounded, the call fails and the job is retried in seconds.
const callTimeout = 5 * time.Second

func (s *Store) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// New opens (creating if needed) the bucket, read from its stream's leader
// (natsjs.ReadFromLeader): a job just created must never read as missing,
// or its work would be taken for deleted and dropped.
func New(ctx context.Context, js jetstream.JetStream, bucket string) (*Store, error) {
	kv, err := js.KeyValue(ctx, bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: bucket, History: 1, Storage: jetstream.FileStorage})
		if errors.Is(err, jetstream.ErrBucketExists) { // another replica made it first
			kv, err = js.KeyValue(ctx, bucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("nats: job bucket %s: %w", bucket, err)
	}
	if changed, err := natsjs.ReadFromLeader(ctx, js, "KV_"+bucket); err != nil {
		return nil, fmt.Errorf("nats: job bucket %s: %w", bucket, err)
	} else if changed {
		if kv, err = js.KeyValue(ctx, bucket); err != nil { // bound again, to read from the leader
			return nil, fmt.Errorf("nats: job bucket %s: %w", bucket, err)
		}
	}
	return &Store{kv: kv, timeout: callTimeout, seen: map[string]seenJob{}}, nil
}

// jobRecord is the stored JSON, decoupled from the domain type.
type jobRecord struct {
	ID              string          `json:"id"`
	Kind            domain.JobKind  `json:"kind"`
	ResourceID      string          `json:"resource_id"`
	ResourceVersion int64           `json:"resource_version"`
	FileID          string          `json:"file_id,omitempty"`
	State           domain.JobState `json:"state"`
	Attempts        int             `json:"attempts"`
	MaxAttempts     int             `json:"max_attempts"`
	Progress        int             `json:"progress"`
	LastError       string          `json:"last_error,omitempty"`
	CreatedAt       time.Time       `json:"created_at"`
	UpdatedAt       time.Time       `json:"updated_at"`
	NextAttemptAt   time.Time       `json:"next_attempt_at"`
}

func encode(j domain.Job) ([]byte, error) { return json.Marshal(jobRecord(j)) }

func decode(b []byte) (domain.Job, error) {
	var r jobRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return domain.Job{}, fault.Wrap(fault.Internal, "corrupt job record", err)
	}
	return domain.Job(r), nil
}

// Create stores a new job.
func (s *Store) Create(ctx context.Context, j domain.Job) error {
	b, err := encode(j)
	if err != nil {
		return err
	}
	cctx, cancel := s.call(ctx)
	defer cancel()
	rev, err := s.kv.Create(cctx, j.ID, b)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return fault.Wrap(fault.Conflict, "job already exists", err)
	}
	if err != nil {
		return unavailableIf(err)
	}
	s.remember(j.ID, j, rev)
	return nil
}

// Get returns a job.
func (s *Store) Get(ctx context.Context, id string) (domain.Job, error) {
	j, err := s.read(ctx, id)
	return j.job, err
}

// read returns a job as stored, with its revision.
func (s *Store) read(ctx context.Context, id string) (seenJob, error) {
	cctx, cancel := s.call(ctx)
	defer cancel()
	e, err := s.kv.Get(cctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrInvalidKey) {
		return seenJob{}, domain.ErrJobNotFound
	}
	if err != nil {
		return seenJob{}, unavailableIf(err)
	}
	j, err := decode(e.Value())
	return seenJob{job: j, rev: e.Revision()}, err
}

// Update applies change with compare-and-set, retrying on conflicts. It
// starts from the job as this store last wrote it, when it remembers it,
// and reads the job only when that is not the stored one (or not known).
func (s *Store) Update(ctx context.Context, id string, change func(domain.Job) (domain.Job, error)) (domain.Job, error) {
	for attempt := 0; attempt < 100; attempt++ {
		cur, remembered := s.recall(id)
		if !remembered {
			var err error
			if cur, err = s.read(ctx, id); err != nil {
				return domain.Job{}, err
			}
		}
		next, err := change(cur.job)
		if err != nil {
			if remembered {
				// Refused on what may no longer be stored: judge again on
				// what is.
				s.forget(id)
				continue
			}
			return domain.Job{}, err
		}
		b, err := encode(next)
		if err != nil {
			return domain.Job{}, err
		}
		cctx, cancel := s.call(ctx)
		rev, err := s.kv.Update(cctx, id, b, cur.rev)
		cancel()
		if err == nil {
			s.remember(id, next, rev)
			return next, nil
		}
		s.forget(id)
		var apiErr *jetstream.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode != jetstream.JSErrCodeStreamWrongLastSequence {
			return domain.Job{}, unavailableIf(err)
		}
		// Someone else changed the job: read it again and reapply.
	}
	return domain.Job{}, fault.New(fault.Unavailable, "the job is changing too often; retry")
}

// List scans the bucket's keys in id order.
func (s *Store) List(ctx context.Context, f app.JobFilter, after string, limit int) ([]domain.Job, error) {
	lister, err := s.kv.ListKeys(ctx)
	if err != nil {
		return nil, unavailableIf(err)
	}
	var keys []string
	for k := range lister.Keys() {
		if k > after {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	out := []domain.Job{}
	for _, k := range keys {
		if len(out) == limit {
			break
		}
		j, err := s.Get(ctx, k)
		if errors.Is(err, domain.ErrJobNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		if (f.State == "" || j.State == f.State) && (f.Kind == "" || j.Kind == f.Kind) && (f.ResourceID == "" || j.ResourceID == f.ResourceID) {
			out = append(out, j)
		}
	}
	return out, nil
}

func unavailableIf(err error) error {
	if err == nil {
		return nil
	}
	return fault.Wrap(fault.Unavailable, "the job store is unavailable", err)
}
