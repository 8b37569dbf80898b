package fake

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

// ClientRepository is an in-memory app.ClientRepository.
type ClientRepository struct {
	mu      sync.RWMutex
	clients []domain.Client
}

var _ app.ClientRepository = (*ClientRepository)(nil)

// NewClientRepository returns an empty repository.
func NewClientRepository() *ClientRepository { return &ClientRepository{} }

// Create stores c.
func (r *ClientRepository) Create(_ context.Context, c domain.Client) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, o := range r.clients {
		if o.ID == c.ID {
			return fault.New(fault.Conflict, "client already exists")
		}
	}
	r.clients = append(r.clients, c)
	return nil
}

// ByID returns the client or domain.ErrClientNotFound.
func (r *ClientRepository) ByID(_ context.Context, id string) (domain.Client, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, c := range r.clients {
		if c.ID == id {
			return c, nil
		}
	}
	return domain.Client{}, domain.ErrClientNotFound
}

// List returns every client, oldest first.
func (r *ClientRepository) List(context.Context) ([]domain.Client, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return append([]domain.Client{}, r.clients...), nil
}

// Delete removes a client.
func (r *ClientRepository) Delete(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, c := range r.clients {
		if c.ID == id {
			r.clients = slices.Delete(r.clients, i, i+1)
			return nil
		}
	}
	return domain.ErrClientNotFound
}

// GrantStore is an in-memory app.GrantStore.
type GrantStore struct {
	mu      sync.Mutex
	codes   map[string]*codeEntry
	refresh map[string]*refreshEntry // by token hash
}

type codeEntry struct {
	code  domain.AuthorizationCode
	spent bool
}

type refreshEntry struct {
	token          domain.RefreshToken
	spent, revoked bool
}

var _ app.GrantStore = (*GrantStore)(nil)

// NewGrantStore returns an empty store.
func NewGrantStore() *GrantStore {
	return &GrantStore{codes: map[string]*codeEntry{}, refresh: map[string]*refreshEntry{}}
}

// SaveCode stores c.
func (g *GrantStore) SaveCode(_ context.Context, c domain.AuthorizationCode) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.codes[string(c.CodeHash)] = &codeEntry{code: c}
	return nil
}

// ConsumeCode spends a code.
func (g *GrantStore) ConsumeCode(_ context.Context, hash []byte, _ time.Time) (domain.AuthorizationCode, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	e, ok := g.codes[string(hash)]
	switch {
	case !ok:
		return domain.AuthorizationCode{}, app.ErrGrantNotFound
	case e.spent:
		return domain.AuthorizationCode{}, app.ErrCodeSpent
	}
	e.spent = true
	return e.code, nil
}

// SaveRefresh stores t.
func (g *GrantStore) SaveRefresh(_ context.Context, t domain.RefreshToken) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.saveLocked(t)
}

func (g *GrantStore) saveLocked(t domain.RefreshToken) error {
	if _, ok := g.refresh[string(t.TokenHash)]; ok {
		return fault.New(fault.Conflict, "refresh token already exists")
	}
	t.TokenHash = bytes.Clone(t.TokenHash)
	g.refresh[string(t.TokenHash)] = &refreshEntry{token: t}
	return nil
}

// Rotate spends the old token and stores its successor.
func (g *GrantStore) Rotate(_ context.Context, oldHash []byte, now time.Time, next func(domain.RefreshToken) (domain.RefreshToken, error)) (domain.RefreshToken, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	e, ok := g.refresh[string(oldHash)]
	switch {
	case !ok || e.revoked || !now.Before(e.token.ExpiresAt):
		return domain.RefreshToken{}, app.ErrGrantNotFound
	case e.spent:
		g.revokeLocked(e.token.FamilyID)
		return domain.RefreshToken{}, app.ErrRefreshReused
	}
	issued, err := next(e.token)
	if err != nil {
		return domain.RefreshToken{}, err
	}
	issued.FamilyID = e.token.FamilyID
	if err := g.saveLocked(issued); err != nil {
		return domain.RefreshToken{}, err
	}
	e.spent = true
	return issued, nil
}

// RefreshByHash returns a live refresh token.
func (g *GrantStore) RefreshByHash(_ context.Context, hash []byte, now time.Time) (domain.RefreshToken, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	e, ok := g.refresh[string(hash)]
	if !ok || e.spent || e.revoked || !now.Before(e.token.ExpiresAt) {
		return domain.RefreshToken{}, app.ErrGrantNotFound
	}
	return e.token, nil
}

// RevokeFamily revokes a family.
func (g *GrantStore) RevokeFamily(_ context.Context, familyID string, _ time.Time) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.revokeLocked(familyID)
	return nil
}

func (g *GrantStore) revokeLocked(familyID string) {
	for _, e := range g.refresh {
		if e.token.FamilyID == familyID {
			e.revoked = true
		}
	}
}

// SigningKeyStore is an in-memory app.SigningKeyStore.
type SigningKeyStore struct {
	mu   sync.Mutex
	keys []domain.SigningKey
}

var _ app.SigningKeyStore = (*SigningKeyStore)(nil)

// NewSigningKeyStore returns an empty store.
func NewSigningKeyStore() *SigningKeyStore { return &SigningKeyStore{} }

// Rotate stores k and retires the other active keys.
func (s *SigningKeyStore) Rotate(_ context.Context, k domain.SigningKey, publishUntil time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.keys {
		if s.keys[i].ID == k.ID {
			return fault.New(fault.Conflict, "key already exists")
		}
	}
	for i := range s.keys {
		if s.keys[i].Active() {
			s.keys[i].RetiredAt, s.keys[i].PublishedUntil = k.CreatedAt, publishUntil
		}
	}
	s.keys = append(s.keys, k)
	return nil
}

// Published returns the keys still needed at now, newest first.
func (s *SigningKeyStore) Published(_ context.Context, now time.Time) ([]domain.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []domain.SigningKey{}
	for i := len(s.keys) - 1; i >= 0; i-- {
		if k := s.keys[i]; k.Active() || k.PublishedUntil.After(now) {
			out = append(out, k)
		}
	}
	return out, nil
}

// APIKeyRepository is an in-memory app.APIKeyRepository.
type APIKeyRepository struct {
	mu   sync.Mutex
	keys []domain.APIKey
}

var _ app.APIKeyRepository = (*APIKeyRepository)(nil)

// NewAPIKeyRepository returns an empty repository.
func NewAPIKeyRepository() *APIKeyRepository { return &APIKeyRepository{} }

// Create stores k.
func (r *APIKeyRepository) Create(_ context.Context, k domain.APIKey) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, o := range r.keys {
		if bytes.Equal(o.Hash, k.Hash) || o.ID == k.ID {
			return fault.New(fault.Conflict, "API key already exists")
		}
	}
	r.keys = append(r.keys, k)
	return nil
}

// ByHash returns the key with this hash.
func (r *APIKeyRepository) ByHash(_ context.Context, hash []byte) (domain.APIKey, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range r.keys {
		if bytes.Equal(k.Hash, hash) {
			return k, nil
		}
	}
	return domain.APIKey{}, domain.ErrAPIKeyNotFound
}

// ListByUser returns the user's keys, newest first.
func (r *APIKeyRepository) ListByUser(_ context.Context, userID string) ([]domain.APIKey, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := []domain.APIKey{}
	for i := len(r.keys) - 1; i >= 0; i-- {
		if r.keys[i].UserID == userID {
			out = append(out, r.keys[i])
		}
	}
	return out, nil
}

// Revoke marks the user's key revoked.
func (r *APIKeyRepository) Revoke(_ context.Context, userID, id string, now time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.keys {
		if k := &r.keys[i]; k.ID == id && k.UserID == userID && k.RevokedAt.IsZero() {
			k.RevokedAt = now
			return nil
		}
	}
	return domain.ErrAPIKeyNotFound
}

// Touch records a use.
func (r *APIKeyRepository) Touch(_ context.Context, id string, now time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.keys {
		if r.keys[i].ID == id {
			r.keys[i].LastUsedAt = now
		}
	}
	return nil
}
