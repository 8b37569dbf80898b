package domain

import (
	"slices"

	"github.com/lattice-platform/lattice/pkg/fault"
)

// Scopes the analytics service checks.
const (
	ScopeRead  = "analytics:read"  // one's own usage
	ScopeAdmin = "analytics:admin" // everyone's usage
	ScopeAudit = "audit:read"      // the audit log
)

// Caller is who a request acts for.
type Caller struct {
	Subject string
	Scopes  []string
	Bearer  string // kept to ask the resource service what the caller may read
}

func (c Caller) has(s string) bool { return slices.Contains(c.Scopes, s) }

// UsageIdentity is whose usage the caller may see: "" for everyone (an
// admin), else their own.
func (c Caller) UsageIdentity() (string, error) {
	switch {
	case c.Subject == "":
		return "", fault.New(fault.Unauthenticated, "a valid bearer credential is required")
	case c.has(ScopeAdmin):
		return "", nil
	case c.has(ScopeRead):
		return c.Subject, nil
	}
	return "", fault.New(fault.Forbidden, "missing scope: "+ScopeRead)
}

// RequireAudit returns the error for a caller who may not read the audit log.
func (c Caller) RequireAudit() error {
	switch {
	case c.Subject == "":
		return fault.New(fault.Unauthenticated, "a valid bearer credential is required")
	case !c.has(ScopeAudit):
		return fault.New(fault.Forbidden, "missing scope: "+ScopeAudit)
	}
	return nil
}
