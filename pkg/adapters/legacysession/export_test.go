package legacysession

import "time"

// SetTimeout shortens how long a check waits for the endpoint.
func (in *Introspection) SetTimeout(d time.Duration) { in.timeout = d }
