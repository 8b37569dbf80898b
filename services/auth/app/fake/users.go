package fake

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

// UserRepository is an in-memory app.UserRepository.
type UserRepository struct {
	mu    sync.RWMutex
	byID  map[string]domain.User
	email map[string]string
}

var _ app.UserRepository = (*UserRepository)(nil)

// NewUserRepository returns an empty repository.
func NewUserRepository() *UserRepository {
	return &UserRepository{byID: map[string]domain.User{}, email: map[string]string{}}
}

// Create stores u or returns domain.ErrEmailTaken.
func (r *UserRepository) Create(_ context.Context, u domain.User) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.email[u.Email]; ok {
		return domain.ErrEmailTaken
	}
	r.byID[u.ID] = u
	r.email[u.Email] = u.ID
	return nil
}

// ByID returns the user or domain.ErrUserNotFound.
func (r *UserRepository) ByID(_ context.Context, id string) (domain.User, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	u, ok := r.byID[id]
	if !ok {
		return domain.User{}, domain.ErrUserNotFound
	}
	return u, nil
}

// ByEmail returns the user or domain.ErrUserNotFound.
func (r *UserRepository) ByEmail(ctx context.Context, email string) (domain.User, error) {
	r.mu.RLock()
	id, ok := r.email[email]
	r.mu.RUnlock()
	if !ok {
		return domain.User{}, domain.ErrUserNotFound
	}
	return r.ByID(ctx, id)
}

// List returns users with ids after `after`, in id order.
func (r *UserRepository) List(_ context.Context, after string, limit int) ([]domain.User, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]domain.User, 0, len(r.byID))
	for id, u := range r.byID {
		if id > after {
			out = append(out, u)
		}
	}
	slices.SortFunc(out, func(a, b domain.User) int { return strings.Compare(a.ID, b.ID) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// ReplacePasswordHash swaps the hash if it is still oldHash.
func (r *UserRepository) ReplacePasswordHash(_ context.Context, id, oldHash, newHash string, at time.Time) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	u, ok := r.byID[id]
	if !ok || u.PasswordHash != oldHash {
		return false, nil
	}
	u.PasswordHash, u.UpdatedAt = newHash, at
	r.byID[id] = u
	return true, nil
}
