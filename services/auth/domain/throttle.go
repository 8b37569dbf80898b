package domain

import (
	"time"

	"github.com/lattice-platform/lattice/pkg/fault"
)

// ThrottlePolicy bounds password guessing: after MaxFailures failed logins
// within Window, the key is locked for Lockout.
type ThrottlePolicy struct {
	MaxFailures int
	Window      time.Duration
	Lockout     time.Duration
}

// DefaultAccountThrottle and DefaultIPThrottle are the shipped policies: an
// account tolerates few failures; an IP (which may be a whole office behind
// NAT) tolerates more.
var (
	DefaultAccountThrottle = ThrottlePolicy{MaxFailures: 5, Window: 15 * time.Minute, Lockout: 15 * time.Minute}
	DefaultIPThrottle      = ThrottlePolicy{MaxFailures: 50, Window: 15 * time.Minute, Lockout: 15 * time.Minute}
)

// ErrLockedOut builds the error for a locked key, with the time to wait.
func ErrLockedOut(until, now time.Time) error {
	secs := int(until.Sub(now).Seconds() + 0.999)
	if secs < 1 {
		secs = 1
	}
	return &fault.Error{Kind: fault.RateLimited, Message: "too many failed logins; try again later", RetryAfterSeconds: secs}
}
