package ports

import "time"

// Clock tells the time; tests pass a fixed or stepped one.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock, in UTC with the monotonic reading stripped
// so that times compare equal after a round trip through a store.
type SystemClock struct{}

// Now returns the current UTC time truncated to microseconds, the precision
// PostgreSQL keeps.
func (SystemClock) Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
