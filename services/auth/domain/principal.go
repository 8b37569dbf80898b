package domain

import (
	"slices"
	"strings"

	"github.com/lattice-platform/lattice/pkg/fault"
)

// Scope names an operation family a credential may perform.
type Scope = string

// Scopes the auth service checks. Other services define theirs in the same
// "resource:action" form.
const (
	ScopeUsersAdmin Scope = "users:admin"
)

// Principal is who a request acts for, whatever credential it presented.
type Principal struct {
	UserID    string
	Role      Role
	Scopes    []Scope
	SessionID string // set when the credential is a session token
	ClientID  string // set when the credential is an OAuth access token
}

// ErrUnauthenticated is returned when no valid credential was presented.
var ErrUnauthenticated = fault.New(fault.Unauthenticated, "a valid bearer credential is required")

// Can reports whether p holds scope s. A session acts with everything its
// user's role allows.
func (p Principal) Can(s Scope) bool { return slices.Contains(p.Scopes, s) }

// Require returns a Forbidden error unless p holds every scope.
func (p Principal) Require(scopes ...Scope) error {
	var missing []string
	for _, s := range scopes {
		if !p.Can(s) {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		return fault.New(fault.Forbidden, "missing scope: "+strings.Join(missing, " "))
	}
	return nil
}

// RoleScopes are the scopes a session of a user with this role carries.
func RoleScopes(r Role) []Scope {
	base := []Scope{"users:read", "sessions:write", "api-keys:write", "resources:read", "resources:write", "search:read", "jobs:read", "analytics:read"}
	if r == RoleAdmin {
		return append(base, ScopeUsersAdmin, "clients:admin", "keys:admin", "resources:admin", "jobs:admin", "analytics:admin", "audit:read", "migration:admin")
	}
	return base
}
