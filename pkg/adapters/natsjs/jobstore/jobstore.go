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
	return &Store{kv: kv, timeout: callTimeout}, nil
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
	_, err = s.kv.Create(cctx, j.ID, b)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return fault.Wrap(fault.Conflict, "job already exists", err)
	}
	return unavailableIf(err)
}

// Get returns a job.
func (s *Store) Get(ctx context.Context, id string) (domain.Job, error) {
	cctx, cancel := s.call(ctx)
	defer cancel()
	e, err := s.kv.Get(cctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrInvalidKey) {
		return domain.Job{}, domain.ErrJobNotFound
	}
	if err != nil {
		return domain.Job{}, unavailableIf(err)
	}
	return decode(e.Value())
}

// Update applies change with compare-and-set, retrying on conflicts.
func (s *Store) Update(ctx context.Context, id string, change func(domain.Job) (domain.Job, error)) (domain.Job, error) {
	for attempt := 0; attempt < 100; attempt++ {
		cctx, cancel := s.call(ctx)
		e, err := s.kv.Get(cctx, id)
		cancel()
		if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrInvalidKey) {
			return domain.Job{}, domain.ErrJobNotFound
		}
		if err != nil {
			return domain.Job{}, unavailableIf(err)
		}
		cur, err := decode(e.Value())
		if err != nil {
			return domain.Job{}, err
		}
		next, err := change(cur)
		if err != nil {
			return domain.Job{}, err
		}
		b, err := encode(next)
		if err != nil {
			return domain.Job{}, err
		}
		cctx, cancel = s.call(ctx)
		_, err = s.kv.Update(cctx, id, b, e.Revision())
		cancel()
		if err == nil {
			return next, nil
		}
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
