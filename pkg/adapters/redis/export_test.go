package redis

// Queued is the number of AllowEach calls waiting for the next script run.
func Queued(l *RateLimiter) int {
	l.runs.mu.Lock()
	defer l.runs.mu.Unlock()
	return len(l.runs.queue)
}
