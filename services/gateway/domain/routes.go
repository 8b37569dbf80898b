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

// Self is the upstream of routes the gateway answers itself (its own
// endpoints); a path under one that no endpoint serves is not found.
const Self = "gateway"

// LegacyUpstream is the system Lattice replaces (LEGACY_BASE_URL). It
// judges its own credentials, so the gateway passes them to it as they
// came.
const LegacyUpstream = "legacy"

// Route maps a path prefix to an upstream.
type Route struct {
	Prefix   string
	Upstream string
	Auth     AuthMode
	Class    string        // rate-limit class
	Timeout  time.Duration // until the upstream's response headers
	MaxBody  int64         // request body cap; 0 means the server default
	Split    *Split        // optional weighted split (migration)
	Shadow   *Shadow       // optional shadow traffic (migration)
	// Migration, when set, makes the route's split and shadow follow its
	// State (Table.WithStates) instead of the file.
	Migration *Migration
	State     MigrationState
}

// Split sends Percent of callers to another upstream. It is sticky: a
// caller (identity, or client address when anonymous) always lands on the
// same side, so a user never flips between old and new mid-session.
type Split struct {
	Upstream string
	Percent  int
}

// Shadow mirrors each request to a second upstream after the primary has
// answered, and compares the answers on status and JSON body, ignoring
// Ignore (field names, at any depth: ids, timestamps) and the order of the
// arrays named in Unordered (tags kept as a set on one side and in the
// order written on the other, items sorted differently).
type Shadow struct {
	Upstream  string
	Ignore    []string
	Unordered []string
}

// UpstreamFor picks the route's upstream for a caller key.
func (r Route) UpstreamFor(callerKey string) string {
	if r.Split == nil || r.Split.Percent <= 0 {
		return r.Upstream
	}
	if bucket(r.Prefix+"|"+callerKey) < r.Split.Percent {
		return r.Split.Upstream
	}
	return r.Upstream
}

// bucket maps a key to 0..99 with FNV-1a, stable across processes.
func bucket(key string) int {
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return int(h % 100)
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
		case r.Split != nil && (!upstreams[r.Split.Upstream] || r.Split.Percent < 0 || r.Split.Percent > 100):
			return nil, fmt.Errorf("route %s: split needs a known upstream and a percent from 0 to 100", r.Prefix)
		case r.Shadow != nil && !upstreams[r.Shadow.Upstream]:
			return nil, fmt.Errorf("route %s: shadow names unknown upstream %q", r.Prefix, r.Shadow.Upstream)
		case r.Migration != nil && (!upstreams[r.Migration.Lattice] || r.Migration.Lattice == r.Upstream):
			return nil, fmt.Errorf("route %s: migration needs a known Lattice upstream other than the route's", r.Prefix)
		case r.Migration != nil && (r.Split != nil || r.Shadow != nil):
			return nil, fmt.Errorf("route %s: a migration route's state decides its split and shadow; name neither", r.Prefix)
		}
		if r.Migration != nil {
			if r.Migration.Canary == (CanaryGuard{}) {
				m := *r.Migration
				m.Canary = DefaultCanaryGuard
				routes[i].Migration = &m
				r = routes[i]
			}
			if err := r.Migration.Canary.Check(); err != nil {
				return nil, fmt.Errorf("route %s: %w", r.Prefix, err)
			}
		}
		seen[r.Prefix] = true
	}
	sorted := append([]Route(nil), routes...)
	sort.SliceStable(sorted, func(i, j int) bool { return len(sorted[i].Prefix) > len(sorted[j].Prefix) })
	t := &Table{routes: sorted}
	if err := t.noShadowedCredentials(); err != nil {
		return nil, err
	}
	return t, nil
}

// CredentialPaths carry passwords, tokens, session cookies or key secrets
// in their requests or responses. A shadowed request is copied to a second
// upstream and its exchange may be logged, so no route that serves them
// may shadow.
var CredentialPaths = []string{"/v1/sessions", "/v1/users", "/v1/api-keys", "/v1/clients", "/oauth2"}

func (t *Table) noShadowedCredentials() error {
	for _, cp := range CredentialPaths {
		// The route that serves the path itself, and any route under it.
		if r, err := t.Match(cp); err == nil && r.Shadow != nil {
			return fmt.Errorf("route %s: shadows %s, which carries credentials; credential routes cannot be shadowed", r.Prefix, cp)
		}
		for _, r := range t.routes {
			if r.Shadow != nil && strings.HasPrefix(r.Prefix, cp+"/") {
				return fmt.Errorf("route %s: carries credentials (under %s) and cannot be shadowed", r.Prefix, cp)
			}
		}
	}
	return nil
}

// Match returns the route for path.
func (t *Table) Match(path string) (Route, error) {
	for _, r := range t.routes {
		// path under the prefix on a segment boundary, without building
		// the prefix with its slash on every request.
		under := strings.TrimSuffix(r.Prefix, "/")
		if path == r.Prefix || len(path) > len(under) && path[len(under)] == '/' && path[:len(under)] == under {
			return r, nil
		}
	}
	return Route{}, ErrNoRoute
}

// Routes returns the table's routes, longest prefix first.
func (t *Table) Routes() []Route { return append([]Route(nil), t.routes...) }
