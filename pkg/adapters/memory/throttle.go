package memory

import (
	"context"
	"sync"
	"time"

	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

// LoginThrottle is an in-memory ports.LoginThrottle.
type LoginThrottle struct {
	mu    sync.Mutex
	state map[string]*throttleEntry
}

type throttleEntry struct {
	failures    int
	windowStart time.Time
	lockedUntil time.Time
}

var _ ports.LoginThrottle = (*LoginThrottle)(nil)

// NewLoginThrottle returns a throttle with no failures recorded.
func NewLoginThrottle() *LoginThrottle { return &LoginThrottle{state: map[string]*throttleEntry{}} }

// LockedUntil returns the end of key's lockout, or zero.
func (l *LoginThrottle) LockedUntil(_ context.Context, key string, now time.Time) (time.Time, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.state[key]; ok && e.lockedUntil.After(now) {
		return e.lockedUntil, nil
	}
	return time.Time{}, nil
}

// Fail counts a failure and returns the lockout it caused, if any.
func (l *LoginThrottle) Fail(_ context.Context, key string, p domain.ThrottlePolicy, now time.Time) (time.Time, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.state[key]
	if !ok {
		e = &throttleEntry{}
		l.state[key] = e
	}
	if !e.windowStart.After(now.Add(-p.Window)) { // the window has passed: start a new one
		e.failures, e.windowStart = 0, now
	}
	e.failures++
	if e.failures >= p.MaxFailures {
		e.lockedUntil = now.Add(p.Lockout)
		return e.lockedUntil, nil
	}
	return time.Time{}, nil
}

// Reset forgets key.
func (l *LoginThrottle) Reset(_ context.Context, key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.state, key)
	return nil
}
