package migration

import "time"

// SetNow makes the guard read time from now.
func (g *Guard) SetNow(now func() time.Time) { g.now = now }

// SetApplyWait bounds a change's wait for the watch to d.
func (s *Service) SetApplyWait(d time.Duration) { s.applyWait = d }
