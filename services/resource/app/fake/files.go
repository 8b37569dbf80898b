package fake

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/lattice-platform/lattice/services/resource/app"
	"github.com/lattice-platform/lattice/services/resource/domain"
)

var (
	_ app.FileRepository = (*ResourceStore)(nil)
	_ app.Purger         = (*ResourceStore)(nil)
)

type storedFile struct {
	file      domain.File
	deletedAt time.Time
}

// AddFile records f under its live parent.
func (s *ResourceStore) AddFile(_ context.Context, f domain.File, check func(domain.Resource) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.live(f.ResourceID)
	if err != nil {
		return err
	}
	if err := check(clone(st.versions[len(st.versions)-1])); err != nil {
		return err
	}
	if s.files == nil {
		s.files = map[string]*storedFile{}
	}
	s.files[f.ID] = &storedFile{file: f}
	return nil
}

// Files lists live files, oldest first.
func (s *ResourceStore) Files(_ context.Context, resourceID string) ([]domain.File, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []domain.File{}
	for _, sf := range s.files {
		if sf.file.ResourceID == resourceID && sf.deletedAt.IsZero() {
			out = append(out, sf.file)
		}
	}
	slices.SortFunc(out, func(a, b domain.File) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// File returns a live file.
func (s *ResourceStore) File(_ context.Context, resourceID, fileID string) (domain.File, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sf, ok := s.files[fileID]
	if !ok || sf.file.ResourceID != resourceID || !sf.deletedAt.IsZero() {
		return domain.File{}, domain.ErrFileNotFound
	}
	return sf.file, nil
}

// DeleteFile soft-deletes a file.
func (s *ResourceStore) DeleteFile(_ context.Context, resourceID, fileID string, at time.Time, check func(domain.Resource, domain.File) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.live(resourceID)
	if err != nil {
		return err
	}
	sf, ok := s.files[fileID]
	if !ok || sf.file.ResourceID != resourceID || !sf.deletedAt.IsZero() {
		return domain.ErrFileNotFound
	}
	if err := check(clone(st.versions[len(st.versions)-1]), sf.file); err != nil {
		return err
	}
	sf.deletedAt = at
	return nil
}

// PurgeableFiles lists files past their grace period.
func (s *ResourceStore) PurgeableFiles(_ context.Context, cutoff time.Time, limit int) ([]domain.File, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []domain.File
	for _, sf := range s.files {
		parent := s.resources[sf.file.ResourceID]
		if (!sf.deletedAt.IsZero() && sf.deletedAt.Before(cutoff)) || (parent != nil && parent.deleted && parent.deletedAt.Before(cutoff)) {
			out = append(out, sf.file)
		}
	}
	slices.SortFunc(out, func(a, b domain.File) int { return strings.Compare(a.ID, b.ID) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// ForgetFiles removes file rows.
func (s *ResourceStore) ForgetFiles(_ context.Context, ids []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		delete(s.files, id)
	}
	return nil
}

// PurgeResources removes deleted resources without files.
func (s *ResourceStore) PurgeResources(_ context.Context, cutoff time.Time, limit int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, st := range s.resources {
		if n == limit || !st.deleted || !st.deletedAt.Before(cutoff) {
			continue
		}
		hasFiles := false
		for _, sf := range s.files {
			hasFiles = hasFiles || sf.file.ResourceID == id
		}
		if !hasFiles {
			delete(s.resources, id)
			n++
		}
	}
	return n, nil
}

// RejectFile marks a live file rejected.
func (s *ResourceStore) RejectFile(_ context.Context, resourceID, fileID, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sf, ok := s.files[fileID]
	if !ok || sf.file.ResourceID != resourceID || !sf.deletedAt.IsZero() {
		return domain.ErrFileNotFound
	}
	sf.file.Status, sf.file.RejectedReason = domain.FileRejected, domain.TruncateReason(reason)
	return nil
}
