package fake

import (
	"context"
	"sync"
	"time"

	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

// LoginThrottle is an in-memory app.LoginThrottle.
type LoginThrottle struct {
	mu    sync.Mutex
	state map[string]domain.FailureCount
}

var _ app.LoginThrottle = (*LoginThrottle)(nil)

// NewLoginThrottle returns a throttle with no failures recorded.
func NewLoginThrottle() *LoginThrottle {
	return &LoginThrottle{state: map[string]domain.FailureCount{}}
}

// Failures returns the counts of keys.
func (l *LoginThrottle) Failures(_ context.Context, keys ...string) ([]domain.FailureCount, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]domain.FailureCount, len(keys))
	for i, k := range keys {
		out[i] = l.state[k]
	}
	return out, nil
}

// Fail counts a failure.
func (l *LoginThrottle) Fail(_ context.Context, key string, window time.Duration, now time.Time) (domain.FailureCount, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.state[key]
	if c.Last.Before(now.Add(-window)) {
		c = domain.FailureCount{}
	}
	c.Failures++
	if now.After(c.Last) {
		c.Last = now
	}
	l.state[key] = c
	return c, nil
}

// Reset forgets key.
func (l *LoginThrottle) Reset(_ context.Context, key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.state, key)
	return nil
}
