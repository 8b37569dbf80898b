package ports

// PasswordHasher turns passwords into self-describing hashes (PHC strings)
// and checks them. Implementations are deliberately slow.
type PasswordHasher interface {
	// Hash returns the PHC string for password.
	Hash(password string) (string, error)
	// Verify reports whether password matches encoded. It returns an error
	// only when encoded is malformed, never for a wrong password.
	Verify(password, encoded string) (bool, error)
}
