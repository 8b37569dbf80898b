package domain

import (
	"slices"

	"github.com/lattice-platform/lattice/pkg/fault"
)

// Scopes the processing service checks.
const (
	ScopeRead  = "jobs:read"
	ScopeAdmin = "jobs:admin"
)

// Caller is who a job API request acts for. Bearer is kept so the resource
// service can be asked whether the caller may read a job's resource.
type Caller struct {
	Subject string
	Scopes  []string
	Bearer  string
}

// Admin reports whether the caller sees and manages every job.
func (c Caller) Admin() bool { return slices.Contains(c.Scopes, ScopeAdmin) }

// RequireAdmin returns the error for a caller who may not manage jobs.
func (c Caller) RequireAdmin() error {
	if c.Subject == "" {
		return fault.New(fault.Unauthenticated, "a valid bearer credential is required")
	}
	if !c.Admin() {
		return fault.New(fault.Forbidden, "missing scope: "+ScopeAdmin)
	}
	return nil
}

// RequireRead returns the error for a caller who may not read jobs at all.
func (c Caller) RequireRead() error {
	if c.Subject == "" {
		return fault.New(fault.Unauthenticated, "a valid bearer credential is required")
	}
	if !c.Admin() && !slices.Contains(c.Scopes, ScopeRead) {
		return fault.New(fault.Forbidden, "missing scope: "+ScopeRead)
	}
	return nil
}
