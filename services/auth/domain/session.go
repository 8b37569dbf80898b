package domain

import (
	"crypto/sha256"
	"time"

	"github.com/lattice-platform/lattice/pkg/fault"
)

// Session is a logged-in browser or client. Only the SHA-256 of its token is
// stored: tokens are 256-bit random values, so a fast hash is enough and a
// leaked table yields no usable token.
type Session struct {
	ID        string
	UserID    string
	TokenHash []byte
	UserAgent string
	IP        string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Prefixes make Lattice credentials recognisable to people and to secret
// scanners, and let a verifier route a bearer token without trying each kind.
const (
	SessionTokenPrefix = "lts_"
	APIKeyPrefix       = "ltk_"
	// BrowserSessionPrefix marks the login cookie of a browser: a session
	// only the authorization endpoint accepts, never a bearer credential,
	// so a stolen cookie does not open the APIs.
	BrowserSessionPrefix = "ltb_"
)

// ErrSessionNotFound is returned for unknown, expired and revoked sessions
// alike, so a caller cannot probe which ones existed.
var ErrSessionNotFound = fault.New(fault.NotFound, "session not found")

// HashToken returns the stored form of an opaque token.
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// Truncate caps user-supplied metadata (user agents can be kilobytes long)
// without splitting a UTF-8 sequence.
func Truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	for max > 0 && s[max]&0xC0 == 0x80 {
		max--
	}
	return s[:max]
}
