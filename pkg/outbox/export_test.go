package outbox

import "time"

// SetClock gives r a clock of the test's: now for the time, after for the
// waits between rounds.
func SetClock(r *Relay, now func() time.Time, after func(time.Duration) <-chan time.Time) {
	r.now, r.after = now, after
}
