package redis

import "time"

// Queued is the number of AllowEach calls waiting for the next script run.
func Queued(l *RateLimiter) int {
	l.runs.mu.Lock()
	defer l.runs.mu.Unlock()
	return len(l.runs.queue)
}

// SetRunTimeout replaces the bound on a run of queued calls.
func SetRunTimeout(l *RateLimiter, d time.Duration) { l.runTimeout = d }
