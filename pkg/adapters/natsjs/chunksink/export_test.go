package chunksink

import "time"

// SetPutTimeout shortens the bound on storing a chunk set, so a test can
// cross it.
func (s *Sink) SetPutTimeout(d time.Duration) { s.putTimeout = d }
