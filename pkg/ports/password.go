package ports

import "context"

// PasswordHasher turns passwords into self-describing hashes (PHC strings)
// and checks them. Implementations are deliberately slow and memory-hard,
// so they bound how many run at once.
type PasswordHasher interface {
	// Hash returns the PHC string for password. It returns a
	// fault.Unavailable error (with a retry hint) when too many hashes are
	// running to start another soon.
	Hash(ctx context.Context, password string) (string, error)
	// Verify reports whether password matches encoded. It returns an error
	// when encoded is malformed, never for a wrong password, and the same
	// fault.Unavailable error as Hash when it is too busy.
	Verify(ctx context.Context, password, encoded string) (bool, error)
	// NeedsRehash reports whether encoded, having just verified, should be
	// replaced by a fresh Hash of the same password: it was made by another
	// scheme (a migrated user's legacy hash) or with older parameters.
	NeedsRehash(encoded string) bool
}
