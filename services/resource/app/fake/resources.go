package fake

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/pkg/ports/portstest"
	"github.com/lattice-platform/lattice/services/resource/app"
	"github.com/lattice-platform/lattice/services/resource/domain"
)

// ResourceStore is an in-memory app.ResourceRepository, app.FileRepository,
// app.IdempotencyStore and, through its embedded outbox, ports.EventOutbox
// and ports.OutboxStore. It has no transactions: use it with
// portstest.Transactor, and the real store where atomicity is the point.
type ResourceStore struct {
	mu        sync.Mutex
	resources map[string]*storedResource
	idem      map[[2]string]domain.IdempotencyRecord
	// The events the use cases add with their changes.
	*portstest.Outbox
	files  map[string]*storedFile
	legacy map[[2]string]string // (kind, legacy id) → id
}

type storedResource struct {
	versions  []domain.Resource // index v-1 holds version v
	deleted   bool
	deletedAt time.Time
}

var (
	_ app.ResourceRepository = (*ResourceStore)(nil)
	_ app.IdempotencyStore   = (*ResourceStore)(nil)
	_ ports.OutboxStore      = (*ResourceStore)(nil)
)

// NewResourceStore returns an empty store.
func NewResourceStore() *ResourceStore {
	return &ResourceStore{resources: map[string]*storedResource{}, idem: map[[2]string]domain.IdempotencyRecord{}, Outbox: portstest.NewOutbox()}
}

func clone(r domain.Resource) domain.Resource {
	r.Metadata = maps.Clone(r.Metadata)
	r.Tags = slices.Clone(r.Tags)
	return r
}

// Create stores r as version 1.
func (s *ResourceStore) Create(_ context.Context, r domain.Resource, idem *domain.IdempotencyRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.resources[r.ID]; ok {
		return fault.New(fault.Conflict, "resource already exists")
	}
	if idem != nil {
		k := [2]string{idem.Caller, idem.Key}
		if old, ok := s.idem[k]; ok && idem.CreatedAt.Before(old.ExpiresAt) {
			return domain.ErrIdempotencyKeyUsed
		}
		s.idem[k] = *idem
	}
	s.resources[r.ID] = &storedResource{versions: []domain.Resource{clone(r)}}
	return nil
}

func (s *ResourceStore) live(id string) (*storedResource, error) {
	st, ok := s.resources[id]
	if !ok || st.deleted {
		return nil, domain.ErrNotFound
	}
	return st, nil
}

// Get returns a live resource.
func (s *ResourceStore) Get(_ context.Context, id string) (domain.Resource, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.live(id)
	if err != nil {
		return domain.Resource{}, err
	}
	return clone(st.versions[len(st.versions)-1]), nil
}

// Update applies change under the store's lock.
func (s *ResourceStore) Update(_ context.Context, id string, change func(domain.Resource) (domain.Resource, error)) (domain.Resource, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.live(id)
	if err != nil {
		return domain.Resource{}, err
	}
	next, err := change(clone(st.versions[len(st.versions)-1]))
	if err != nil {
		return domain.Resource{}, err
	}
	st.versions = append(st.versions, clone(next))
	return next, nil
}

// Delete soft-deletes after check approves.
func (s *ResourceStore) Delete(_ context.Context, id string, at time.Time, check func(domain.Resource) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.live(id)
	if err != nil {
		return err
	}
	if err := check(clone(st.versions[len(st.versions)-1])); err != nil {
		return err
	}
	st.deleted, st.deletedAt = true, at
	return nil
}

// List returns one page, filtered and ordered like the SQL adapter.
func (s *ResourceStore) List(_ context.Context, q domain.ListQuery) ([]domain.Resource, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := func(r domain.Resource) time.Time {
		if q.Sort == domain.SortUpdated {
			return r.UpdatedAt
		}
		return r.CreatedAt
	}
	var out []domain.Resource
	for _, st := range s.resources {
		if st.deleted {
			continue
		}
		r := st.versions[len(st.versions)-1]
		visible := q.Caller.Admin() || r.OwnerID == q.Caller.Subject || r.Visibility == domain.Public ||
			(r.Visibility == domain.Internal && !q.Caller.Anonymous())
		switch {
		case !visible,
			q.Owner != "" && r.OwnerID != q.Owner,
			q.Visibility != "" && r.Visibility != q.Visibility,
			!q.UpdatedSince.IsZero() && r.UpdatedAt.Before(q.UpdatedSince),
			q.Tag != "" && !slices.Contains(r.Tags, q.Tag),
			q.MetaKey != "" && r.Metadata[q.MetaKey] != q.MetaValue,
			q.MetaKey != "" && !hasKey(r.Metadata, q.MetaKey):
			continue
		}
		if q.After != nil {
			t := key(r)
			if !(t.Before(q.After.Time) || t.Equal(q.After.Time) && r.ID < q.After.ID) {
				continue
			}
		}
		out = append(out, clone(r))
	}
	slices.SortFunc(out, func(a, b domain.Resource) int {
		if c := key(b).Compare(key(a)); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	if len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

func hasKey(m map[string]string, k string) bool { _, ok := m[k]; return ok }

// Versions lists versions newest first.
func (s *ResourceStore) Versions(_ context.Context, id string) ([]domain.VersionInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.live(id)
	if err != nil {
		return nil, err
	}
	out := make([]domain.VersionInfo, 0, len(st.versions))
	for i := len(st.versions) - 1; i >= 0; i-- {
		out = append(out, domain.VersionInfo{Version: st.versions[i].Version, CreatedAt: st.versions[i].UpdatedAt})
	}
	return out, nil
}

// Version returns version n.
func (s *ResourceStore) Version(_ context.Context, id string, n int64) (domain.Resource, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.live(id)
	if err != nil {
		return domain.Resource{}, err
	}
	for _, v := range st.versions {
		if v.Version == n {
			return clone(v), nil
		}
	}
	return domain.Resource{}, domain.ErrVersionNotFound
}

// Lookup returns a live idempotency record.
func (s *ResourceStore) Lookup(_ context.Context, caller, key string, now time.Time) (domain.IdempotencyRecord, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.idem[[2]string{caller, key}]
	if !ok || !now.Before(rec.ExpiresAt) {
		return domain.IdempotencyRecord{}, false, nil
	}
	return rec, true, nil
}
