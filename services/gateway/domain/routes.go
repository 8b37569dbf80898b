// Package domain holds the gateway's rules: which upstream serves a path,
// what identity a route demands, and how routes are matched. It imports
// only the standard library and pkg/fault.
package domain

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/lattice-platform/lattice/pkg/fault"
)

// AuthMode is what a route demands of the caller's credential.
type AuthMode string

// The auth modes. A credential that is presented must be valid in every
// mode; optional-auth only allows its absence.
const (
	Public       AuthMode = "public"        // the credential is not checked at all
	OptionalAuth AuthMode = "optional-auth" // checked when present
	AuthRequired AuthMode = "auth-required" // required
)

// Route maps a path prefix to an upstream.
type Route struct {
	Prefix   string
	Upstream string
	Auth     AuthMode
	Class    string        // rate-limit class
	Timeout  time.Duration // until the upstream's response headers
	MaxBody  int64         // request body cap; 0 means the server default
}

// Table is an immutable, validated set of routes, matched by longest
// prefix on segment boundaries ("/v1/users" matches "/v1/users/me", not
// "/v1/usersx").
type Table struct {
	routes []Route
}

// ErrNoRoute is returned for a path no route serves.
var ErrNoRoute = fault.New(fault.NotFound, "no such endpoint")

// NewTable validates routes against the known upstreams and classes.
func NewTable(routes []Route, upstreams, classes map[string]bool) (*Table, error) {
	seen := map[string]bool{}
	for i, r := range routes {
		switch {
		case !strings.HasPrefix(r.Prefix, "/"):
			return nil, fmt.Errorf("route %d: prefix %q must start with /", i, r.Prefix)
		case seen[r.Prefix]:
			return nil, fmt.Errorf("route %d: prefix %q appears twice", i, r.Prefix)
		case !upstreams[r.Upstream]:
			return nil, fmt.Errorf("route %s: unknown upstream %q", r.Prefix, r.Upstream)
		case r.Auth != Public && r.Auth != OptionalAuth && r.Auth != AuthRequired:
			return nil, fmt.Errorf("route %s: auth must be public, optional-auth or auth-required", r.Prefix)
		case !classes[r.Class]:
			return nil, fmt.Errorf("route %s: unknown rate-limit class %q", r.Prefix, r.Class)
		case r.Timeout <= 0:
			return nil, fmt.Errorf("route %s: timeout must be positive", r.Prefix)
		}
		seen[r.Prefix] = true
	}
	sorted := append([]Route(nil), routes...)
	sort.SliceStable(sorted, func(i, j int) bool { return len(sorted[i].Prefix) > len(sorted[j].Prefix) })
	return &Table{routes: sorted}, nil
}

// Match returns the route for path.
func (t *Table) Match(path string) (Route, error) {
	for _, r := range t.routes {
		if path == r.Prefix || strings.HasPrefix(path, strings.TrimSuffix(r.Prefix, "/")+"/") {
			return r, nil
		}
	}
	return Route{}, ErrNoRoute
}

// Routes returns the table's routes, longest prefix first.
func (t *Table) Routes() []Route { return append([]Route(nil), t.routes...) }
