package fake

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/services/processing/app"
	"github.com/lattice-platform/lattice/services/processing/domain"
)

// JobStore is an in-memory app.JobStore.
type JobStore struct {
	mu   sync.Mutex
	jobs map[string]domain.Job
}

var _ app.JobStore = (*JobStore)(nil)

// NewJobStore returns an empty store.
func NewJobStore() *JobStore { return &JobStore{jobs: map[string]domain.Job{}} }

// Create stores a new job.
func (s *JobStore) Create(_ context.Context, j domain.Job) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.jobs[j.ID]; ok {
		return fault.New(fault.Conflict, "job already exists")
	}
	s.jobs[j.ID] = j
	return nil
}

// Get returns a job.
func (s *JobStore) Get(_ context.Context, id string) (domain.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[id]
	if !ok {
		return domain.Job{}, domain.ErrJobNotFound
	}
	return j, nil
}

// Update applies change under the lock.
func (s *JobStore) Update(_ context.Context, id string, change func(domain.Job) (domain.Job, error)) (domain.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[id]
	if !ok {
		return domain.Job{}, domain.ErrJobNotFound
	}
	next, err := change(j)
	if err != nil {
		return domain.Job{}, err
	}
	s.jobs[id] = next
	return next, nil
}

// List returns matching jobs in id order.
func (s *JobStore) List(_ context.Context, f app.JobFilter, after string, limit int) ([]domain.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []domain.Job{}
	for _, j := range s.jobs {
		if j.ID > after && (f.State == "" || j.State == f.State) && (f.Kind == "" || j.Kind == f.Kind) && (f.ResourceID == "" || j.ResourceID == f.ResourceID) {
			out = append(out, j)
		}
	}
	slices.SortFunc(out, func(a, b domain.Job) int { return strings.Compare(a.ID, b.ID) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
