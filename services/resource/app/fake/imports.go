package fake

import (
	"context"
	"time"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/services/resource/app"
	"github.com/lattice-platform/lattice/services/resource/domain"
)

var _ app.Importer = (*ResourceStore)(nil)

// Imported returns those of legacyIDs recorded before.
func (s *ResourceStore) Imported(_ context.Context, kind string, legacyIDs []string) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for _, l := range legacyIDs {
		if id, ok := s.legacy[[2]string{kind, l}]; ok {
			out[l] = id
		}
	}
	return out, nil
}

// ImportResources stores the batch, or nothing if a legacy id or resource
// id is taken.
func (s *ResourceStore) ImportResources(_ context.Context, rs []app.LegacyResource, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, lr := range rs {
		if _, ok := s.legacy[[2]string{app.LegacyResourceKind, lr.LegacyID}]; ok {
			return fault.New(fault.Conflict, "legacy id imported before")
		}
		if _, ok := s.resources[lr.Resource.ID]; ok {
			return fault.New(fault.Conflict, "resource already exists")
		}
	}
	for _, lr := range rs {
		s.recordLocked(app.LegacyResourceKind, lr.LegacyID, lr.Resource.ID)
		s.resources[lr.Resource.ID] = &storedResource{versions: []domain.Resource{clone(lr.Resource)}}
	}
	return nil
}

// RecordImport notes one imported row.
func (s *ResourceStore) RecordImport(_ context.Context, kind, legacyID, id string, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.legacy[[2]string{kind, legacyID}]; ok {
		return fault.New(fault.Conflict, "legacy id imported before")
	}
	s.recordLocked(kind, legacyID, id)
	return nil
}

func (s *ResourceStore) recordLocked(kind, legacyID, id string) {
	if s.legacy == nil {
		s.legacy = map[[2]string]string{}
	}
	s.legacy[[2]string{kind, legacyID}] = id
}
