package argon2id

import "context"

// Hold takes one of h's slots until release is called, as a hash running
// meanwhile would.
func (h *Hasher) Hold(ctx context.Context) (release func(), err error) { return h.acquire(ctx) }
