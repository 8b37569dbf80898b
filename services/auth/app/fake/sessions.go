package fake

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

// SessionStore is an in-memory app.SessionStore.
type SessionStore struct {
	mu   sync.RWMutex
	byID map[string]domain.Session
}

var _ app.SessionStore = (*SessionStore)(nil)

// NewSessionStore returns an empty store.
func NewSessionStore() *SessionStore { return &SessionStore{byID: map[string]domain.Session{}} }

// Create stores s, refusing a duplicate id or token hash.
func (m *SessionStore) Create(_ context.Context, s domain.Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range m.byID {
		if o.ID == s.ID || bytes.Equal(o.TokenHash, s.TokenHash) {
			return fault.New(fault.Conflict, "session already exists")
		}
	}
	s.TokenHash = bytes.Clone(s.TokenHash)
	m.byID[s.ID] = s
	return nil
}

// ByTokenHash returns the live session with hash.
func (m *SessionStore) ByTokenHash(_ context.Context, hash []byte, now time.Time) (domain.Session, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, s := range m.byID {
		if bytes.Equal(s.TokenHash, hash) && now.Before(s.ExpiresAt) {
			return s, nil
		}
	}
	return domain.Session{}, domain.ErrSessionNotFound
}

// ListByUser returns the user's live sessions, newest first.
func (m *SessionStore) ListByUser(_ context.Context, userID string, now time.Time) ([]domain.Session, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := []domain.Session{}
	for _, s := range m.byID {
		if s.UserID == userID && now.Before(s.ExpiresAt) {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b domain.Session) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	return out, nil
}

// Delete removes the user's session id.
func (m *SessionStore) Delete(_ context.Context, userID, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.byID[id]
	if !ok || s.UserID != userID {
		return domain.ErrSessionNotFound
	}
	delete(m.byID, id)
	return nil
}
