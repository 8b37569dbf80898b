package migration

import "time"

// SetNow makes the guard read time from now.
func (g *Guard) SetNow(now func() time.Time) { g.now = now }
