package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/search/domain"
)

// Rebuild is the state of an index rebuild.
type Rebuild struct {
	ID         string
	State      string // running, succeeded, failed
	Done       int    // documents reloaded
	Total      int    // documents to reload (known once counted)
	StartedAt  time.Time
	FinishedAt time.Time
	Error      string
}

// Progress is the percentage done.
func (r Rebuild) Progress() int {
	if r.State == "succeeded" {
		return 100
	}
	if r.Total == 0 {
		return 0
	}
	return min(99, 100*r.Done/r.Total)
}

// rebuildPage is how many documents a rebuild reads at a time.
const rebuildPage = 200

// Load fills the indexes from the store; it runs at start, before events
// are consumed.
func (s *Service) Load(ctx context.Context) error {
	return s.reload(ctx, func(int, int) {})
}

// reload re-reads every live document and its chunks, reporting progress,
// and drops from memory whatever the store no longer has. Queries are
// served throughout: each document is swapped in whole.
func (s *Service) reload(ctx context.Context, progress func(done, total int)) error {
	var ids []string
	for after := ""; ; {
		page, err := s.deps.Store.Documents(ctx, after, rebuildPage)
		if err != nil {
			return err
		}
		for _, d := range page {
			ids = append(ids, d.ResourceID)
		}
		if len(page) < rebuildPage {
			break
		}
		after = page[len(page)-1].ResourceID
	}
	seen := make(map[string]bool, len(ids))
	progress(0, len(ids))
	for start := 0; start < len(ids); start += rebuildPage {
		batch := ids[start:min(start+rebuildPage, len(ids))]
		if err := s.refreshMany(ctx, wholly(batch)); err != nil {
			return err
		}
		for _, id := range batch {
			seen[id] = true
		}
		progress(start+len(batch), len(ids))
	}
	s.mu.RLock()
	var stale []string
	for id := range s.docs {
		if !seen[id] {
			stale = append(stale, id)
		}
	}
	s.mu.RUnlock()
	return s.refreshMany(ctx, wholly(stale))
}

// StartRebuild begins rebuilding the indexes from the store in the
// background (admin) and returns the tracked job; one runs at a time.
func (s *Service) StartRebuild(ctx context.Context, c domain.Caller) (Rebuild, error) {
	if err := requireAdmin(c); err != nil {
		return Rebuild{}, err
	}
	s.rebuildMu.Lock()
	defer s.rebuildMu.Unlock()
	if s.rebuild.State == "running" {
		return s.rebuild, fault.New(fault.Conflict, "a rebuild is already running")
	}
	id := uuid.Must(uuid.NewV7()).String()
	// Recorded before it starts: a rebuild that cannot be recorded is refused.
	if err := s.deps.Audit.Record(ctx, ports.AuditEntry{Actor: c.Subject, Action: "index.rebuild", Target: "rebuild/" + id}); err != nil {
		return Rebuild{}, fault.Wrap(fault.Unavailable, "the audit log cannot record this action now; retry shortly", err)
	}
	s.rebuild = Rebuild{ID: id, State: "running", StartedAt: s.deps.Clock.Now()}
	job := s.rebuild
	go func() {
		err := s.reload(context.WithoutCancel(ctx), func(done, total int) {
			s.rebuildMu.Lock()
			s.rebuild.Done, s.rebuild.Total = done, total
			s.rebuildMu.Unlock()
		})
		s.rebuildMu.Lock()
		defer s.rebuildMu.Unlock()
		s.rebuild.FinishedAt, s.rebuild.State = s.deps.Clock.Now(), "succeeded"
		if err != nil {
			s.rebuild.State, s.rebuild.Error = "failed", safeMessage(err)
		}
	}()
	return job, nil
}

func requireAdmin(c domain.Caller) error {
	if c.Subject == "" {
		return fault.New(fault.Unauthenticated, "a valid bearer credential is required")
	}
	if !c.Admin() {
		return fault.New(fault.Forbidden, "missing scope: "+domain.ScopeResourcesAdmin)
	}
	return nil
}

// Stats describe the indexes.
type Stats struct {
	Documents      int
	Chunks         uint64
	VectorsByModel map[string]int
	LastEvent      EventInfo
	Rebuild        Rebuild
}

// IndexStats reports the indexes' state (admin).
func (s *Service) IndexStats(c domain.Caller) (Stats, error) {
	if err := requireAdmin(c); err != nil {
		return Stats{}, err
	}
	n, err := s.deps.Text.Count()
	if err != nil {
		return Stats{}, fmt.Errorf("count chunks: %w", err)
	}
	s.mu.RLock()
	docs := len(s.docs)
	s.mu.RUnlock()
	s.lastMu.Lock()
	last := s.lastEvent
	s.lastMu.Unlock()
	s.rebuildMu.Lock()
	rb := s.rebuild
	s.rebuildMu.Unlock()
	return Stats{Documents: docs, Chunks: n, VectorsByModel: s.deps.Vectors.Counts(), LastEvent: last, Rebuild: rb}, nil
}

// safeMessage keeps the client-safe message of classified errors.
func safeMessage(err error) string {
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Kind != fault.Internal {
		return fe.Message
	}
	return "internal error"
}
