// Package access holds who a request acts for (the Caller), the scope
// checks, and the one rule for who may see a resource, shared by the
// resource service (which owns resources) and search (which must never
// show more than resource would). It uses only the standard library, so
// domain packages may depend on it as they do on pkg/fault.
package access

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
)

// Scopes the services check.
const (
	ResourcesRead  = "resources:read"
	ResourcesWrite = "resources:write"
	ResourcesAdmin = "resources:admin"
	SearchRead     = "search:read"
)

// Visibility values a resource may have.
const (
	Private  = "private"
	Internal = "internal"
	Public   = "public"
)

// Caller is who a request acts for, established once per request by the
// HTTP edge from the bearer credential. The zero Caller is anonymous.
type Caller struct {
	Subject string // a user id, or a client id for service tokens; "" when anonymous
	Scopes  []string
	// Credential is the bearer credential itself, for services that ask
	// another on the caller's behalf (processing and analytics ask
	// resource what the caller may read). It is never logged.
	Credential string
}

// String shows who the caller is, never the credential.
func (c Caller) String() string {
	if c.Anonymous() {
		return "anonymous"
	}
	return c.Subject + " " + fmt.Sprint(c.Scopes)
}

// LogValue logs the caller without its credential.
func (c Caller) LogValue() slog.Value {
	return slog.GroupValue(slog.String("subject", c.Subject), slog.Any("scopes", c.Scopes))
}

// Anonymous reports whether the caller presented no credential.
func (c Caller) Anonymous() bool { return c.Subject == "" }

// Has reports whether the caller holds scope.
func (c Caller) Has(scope string) bool { return slices.Contains(c.Scopes, scope) }

// Admin reports whether the caller sees and manages every resource.
func (c Caller) Admin() bool { return c.Has(ResourcesAdmin) }

// CanSee is the visibility rule: a public resource is visible to anyone
// (presenting a credential never reduces access); anything else needs
// resources:read, and then an internal one is visible to every reader and a
// private one to its owner; an admin sees everything.
func (c Caller) CanSee(owner, visibility string) bool {
	switch {
	case visibility == Public, c.Admin():
		return true
	case c.Anonymous() || !c.Has(ResourcesRead):
		return false
	}
	return visibility == Internal || owner == c.Subject
}

type callerKey struct{}

// WithCaller returns ctx carrying c.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller ctx carries (anonymous when none).
func CallerFrom(ctx context.Context) Caller {
	c, _ := ctx.Value(callerKey{}).(Caller)
	return c
}
