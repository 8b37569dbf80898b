package domain

import (
	"github.com/lattice-platform/lattice/pkg/access"
	"github.com/lattice-platform/lattice/pkg/fault"
)

// Scopes the resource service checks.
const (
	ScopeRead  = access.ResourcesRead
	ScopeWrite = access.ResourcesWrite
	ScopeAdmin = access.ResourcesAdmin
)

// Caller is who a request acts for. The zero Caller is anonymous.
type Caller struct {
	Subject string // user id; "" when anonymous
	Scopes  []string
}

// Anonymous reports whether the caller presented no credential.
func (c Caller) Anonymous() bool { return c.Subject == "" }

// shared is c as the platform-wide caller, whose rules resource and
// search share.
func (c Caller) shared() access.Caller { return access.Caller{Subject: c.Subject, Scopes: c.Scopes} }

func (c Caller) has(scope string) bool { return c.shared().Has(scope) }

// Admin reports whether the caller sees and manages everything.
func (c Caller) Admin() bool { return c.shared().Admin() }

// CanRead reports whether c may see r, by the one visibility rule
// (access.Caller.CanSee) that search applies too.
func (c Caller) CanRead(r Resource) bool { return c.shared().CanSee(r.OwnerID, string(r.Visibility)) }

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
