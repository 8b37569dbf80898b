package legacysession

import "time"

// Remembered is how many exchanges are remembered.
func (e *Exchanger) Remembered() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.issued) + len(e.denied)
}

// SetLimit lowers how many exchanges are remembered, so a test can fill
// the memory quickly.
func (e *Exchanger) SetLimit(n int) { e.limit = n }

// SetTimeout shortens how long an exchange waits for auth.
func (e *Exchanger) SetTimeout(d time.Duration) { e.timeout = d }
