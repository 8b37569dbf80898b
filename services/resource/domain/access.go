package domain

import "github.com/lattice-platform/lattice/pkg/fault"

// Scopes the resource service checks.
const (
	ScopeRead  = "resources:read"
	ScopeWrite = "resources:write"
	ScopeAdmin = "resources:admin"
)

// Caller is who a request acts for. The zero Caller is anonymous.
type Caller struct {
	Subject string // user id; "" when anonymous
	Scopes  []string
}

// Anonymous reports whether the caller presented no credential.
func (c Caller) Anonymous() bool { return c.Subject == "" }

func (c Caller) has(scope string) bool {
	for _, s := range c.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// Admin reports whether the caller sees and manages everything.
func (c Caller) Admin() bool { return c.has(ScopeAdmin) }

// CanRead reports whether c may see r. Public resources are readable by
// anyone — presenting a credential never reduces access; everything else
// needs resources:read (or the admin scope).
func (c Caller) CanRead(r Resource) bool {
	if r.Visibility == Public {
		return true
	}
	if !c.has(ScopeRead) && !c.Admin() {
		return false
	}
	return c.Admin() || r.OwnerID == c.Subject || r.Visibility == Internal
}

// CheckWrite decides whether c may change r. A caller who cannot even read
// r gets ErrNotFound, so a resource's existence never leaks.
func (c Caller) CheckWrite(r Resource) error {
	if !c.CanRead(r) {
		return ErrNotFound
	}
	if c.Admin() {
		return nil
	}
	if c.Anonymous() {
		return fault.New(fault.Unauthenticated, "a valid bearer credential is required to change a resource")
	}
	if r.OwnerID != c.Subject {
		return fault.New(fault.Forbidden, "only the owner may change this resource")
	}
	if !c.has(ScopeWrite) {
		return fault.New(fault.Forbidden, "missing scope: resources:write")
	}
	return nil
}

// CheckCreate decides whether c may create resources.
func (c Caller) CheckCreate() error {
	if c.Anonymous() {
		return fault.New(fault.Unauthenticated, "a valid bearer credential is required")
	}
	if !c.has(ScopeWrite) && !c.Admin() {
		return fault.New(fault.Forbidden, "missing scope: resources:write")
	}
	return nil
}
