package domain

import (
	"strings"
	"time"

	"github.com/lattice-platform/lattice/pkg/fault"
)

// APIKey is a long-lived credential for automation, owned by a user and
// limited to scopes that user holds. The secret is shown once; only its
// SHA-256 and a short display prefix are kept.
type APIKey struct {
	ID         string
	UserID     string
	Name       string
	Prefix     string // the first characters of the key, for people to recognise it
	Hash       []byte
	Scopes     []Scope
	CreatedAt  time.Time
	ExpiresAt  time.Time // zero means no expiry
	RevokedAt  time.Time // zero while valid
	LastUsedAt time.Time
}

// APIKeyDisplayPrefixLen is how much of a key is kept in clear.
const APIKeyDisplayPrefixLen = 12

// ErrAPIKeyNotFound is returned for unknown or foreign keys.
var ErrAPIKeyNotFound = fault.New(fault.NotFound, "API key not found")

// Live reports whether k may authenticate at now.
func (k APIKey) Live(now time.Time) bool {
	return k.RevokedAt.IsZero() && (k.ExpiresAt.IsZero() || now.Before(k.ExpiresAt))
}

// CheckAPIKeyRequest validates a new key's name, scopes and expiry against
// what its owner holds.
func CheckAPIKeyRequest(name string, scopes, held []Scope, expires, now time.Time) error {
	if n := strings.TrimSpace(name); n == "" || len(n) > 100 {
		return fault.InvalidField("name", "must be 1 to 100 characters")
	}
	if len(scopes) == 0 {
		return fault.InvalidField("scopes", "must name at least one scope")
	}
	for _, s := range scopes {
		if !validScopeToken(s) {
			return fault.InvalidField("scopes", "invalid scope")
		}
		if !containsScope(held, s) {
			return fault.New(fault.Forbidden, "cannot grant scope "+s+" that you do not hold")
		}
	}
	if !expires.IsZero() && !expires.After(now) {
		return fault.InvalidField("expires_at", "must be in the future")
	}
	return nil
}

func containsScope(list []Scope, s Scope) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
