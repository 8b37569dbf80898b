package memory

import (
	"context"
	"sync"

	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/analytics/domain"
)

// CheckpointSink is an in-memory ports.CheckpointSink.
type CheckpointSink struct {
	mu  sync.Mutex
	cps []domain.Checkpoint
}

var _ ports.CheckpointSink = (*CheckpointSink)(nil)

// Export keeps cp unless the same checkpoint is already kept.
func (s *CheckpointSink) Export(_ context.Context, cp domain.Checkpoint) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.cps {
		if c.Seq == cp.Seq && c.At.Equal(cp.At) {
			return nil
		}
	}
	s.cps = append(s.cps, cp)
	return nil
}

// Exported returns the kept checkpoints in [from, to].
func (s *CheckpointSink) Exported(_ context.Context, from, to int64) ([]domain.Checkpoint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []domain.Checkpoint
	for _, c := range s.cps {
		if c.Seq >= from && c.Seq <= to {
			out = append(out, c)
		}
	}
	return out, nil
}
