package jobstore

import "time"

// SetCallTimeout shortens the per-call bound, so a test can cross it.
func (s *Store) SetCallTimeout(d time.Duration) { s.timeout = d }
