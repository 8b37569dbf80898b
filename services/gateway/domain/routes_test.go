package domain_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/services/gateway/domain"
)

var known = map[string]bool{"auth": true, "resource": true}
var classes = map[string]bool{"default": true}

func route(prefix, upstream string) domain.Route {
	return domain.Route{Prefix: prefix, Upstream: upstream, Auth: domain.OptionalAuth, Class: "default", Timeout: time.Second}
}

func TestMatchLongestPrefixOnSegments(t *testing.T) {
	t.Parallel()
	tbl, err := domain.NewTable([]domain.Route{route("/v1/resources", "resource"), route("/v1", "auth"), route("/.well-known", "auth")}, known, classes)
	require.NoError(t, err)
	for path, want := range map[string]string{
		"/v1/resources":           "/v1/resources",
		"/v1/resources/123/files": "/v1/resources",
		"/v1/resourcesx":          "/v1",
		"/v1/users/me":            "/v1",
		"/.well-known/jwks.json":  "/.well-known",
	} {
		r, err := tbl.Match(path)
		require.NoError(t, err, path)
		require.Equal(t, want, r.Prefix, path)
	}
	_, err = tbl.Match("/v2/things")
	require.ErrorIs(t, err, domain.ErrNoRoute)
	_, err = tbl.Match("/")
	require.ErrorIs(t, err, domain.ErrNoRoute)
}

// TestMatchPrefixesWithTrailingSlashAndTheRoot: a prefix written with a
// trailing slash serves the paths under it, not its bare name; the root
// prefix serves every path no longer prefix does.
func TestMatchPrefixesWithTrailingSlashAndTheRoot(t *testing.T) {
	t.Parallel()
	tbl, err := domain.NewTable([]domain.Route{route("/files/", "resource"), route("/", "auth")}, known, classes)
	require.NoError(t, err)
	for path, want := range map[string]string{
		"/files/":    "/files/",
		"/files/a/b": "/files/",
		"/files":     "/",
		"/filesx/a":  "/",
		"/":          "/",
		"/v1/users":  "/",
	} {
		r, err := tbl.Match(path)
		require.NoError(t, err, path)
		require.Equal(t, want, r.Prefix, path)
	}
	_, err = tbl.Match("")
	require.ErrorIs(t, err, domain.ErrNoRoute, "a path must start with a slash")
}

func TestTableValidation(t *testing.T) {
	t.Parallel()
	for name, r := range map[string]domain.Route{
		"no slash":     {Prefix: "v1", Upstream: "auth", Auth: domain.Public, Class: "default", Timeout: time.Second},
		"bad upstream": {Prefix: "/x", Upstream: "nope", Auth: domain.Public, Class: "default", Timeout: time.Second},
		"bad auth":     {Prefix: "/x", Upstream: "auth", Auth: "sometimes", Class: "default", Timeout: time.Second},
		"bad class":    {Prefix: "/x", Upstream: "auth", Auth: domain.Public, Class: "vip", Timeout: time.Second},
		"zero timeout": {Prefix: "/x", Upstream: "auth", Auth: domain.Public, Class: "default"},
	} {
		_, err := domain.NewTable([]domain.Route{r}, known, classes)
		require.Error(t, err, name)
	}
	_, err := domain.NewTable([]domain.Route{route("/a", "auth"), route("/a", "auth")}, known, classes)
	require.Error(t, err, "duplicate prefix")
}

func TestCredentialRoutesCannotBeShadowed(t *testing.T) {
	t.Parallel()
	shadowed := func(prefix string) domain.Route {
		r := route(prefix, "auth")
		r.Shadow = &domain.Shadow{Upstream: "resource"}
		return r
	}
	for _, routes := range [][]domain.Route{
		{shadowed("/v1/sessions")},
		{shadowed("/oauth2")},
		{shadowed("/v1/users/me")},
		{shadowed("/v1"), route("/v1/resources", "resource")}, // /v1/sessions would fall to /v1
		{shadowed("/")},
	} {
		_, err := domain.NewTable(routes, known, classes)
		require.ErrorContains(t, err, "cannot be shadowed", routes[0].Prefix)
	}
	// A broad shadow is fine when every credential path has its own route.
	own := []domain.Route{shadowed("/v1"), route("/v1/sessions", "auth"), route("/v1/users", "auth"),
		route("/v1/api-keys", "auth"), route("/v1/clients", "auth"), route("/oauth2", "auth")}
	_, err := domain.NewTable(own, known, classes)
	require.NoError(t, err)
}

func TestSplitIsStickyAndValidated(t *testing.T) {
	t.Parallel()
	r := route("/v1/search", "auth")
	r.Split = &domain.Split{Upstream: "resource", Percent: 50}
	_, err := domain.NewTable([]domain.Route{r}, known, classes)
	require.NoError(t, err)
	for _, key := range []string{"id:a", "id:b", "ip:10.0.0.1"} {
		first := r.UpstreamFor(key)
		for range 5 {
			require.Equal(t, first, r.UpstreamFor(key))
		}
	}
	none := route("/v1/x", "auth")
	require.Equal(t, "auth", none.UpstreamFor("id:a"))
	r.Split.Percent = 101
	_, err = domain.NewTable([]domain.Route{r}, known, classes)
	require.Error(t, err)
	r.Split = &domain.Split{Upstream: "ghost", Percent: 10}
	_, err = domain.NewTable([]domain.Route{r}, known, classes)
	require.Error(t, err)
}

// TestMigrationPhases: promotion walks legacy, shadow, canary (rising),
// lattice; rollback goes to legacy from anywhere; credential routes skip
// the shadow; and each phase makes the route it should.
func TestMigrationPhases(t *testing.T) {
	s := domain.MigrationState{Phase: domain.PhaseLegacy}
	var err error
	for _, step := range []struct {
		percent int
		want    domain.MigrationState
	}{
		{0, domain.MigrationState{Phase: domain.PhaseShadow}},
		{0, domain.MigrationState{Phase: domain.PhaseCanary, Percent: domain.DefaultCanaryPercent}},
		{50, domain.MigrationState{Phase: domain.PhaseCanary, Percent: 50}},
		{0, domain.MigrationState{Phase: domain.PhaseLattice}},
	} {
		s, err = s.Promote(step.percent, false)
		require.NoError(t, err)
		require.Equal(t, step.want, s)
	}
	_, err = s.Promote(0, false)
	require.True(t, fault.Of(err, fault.Conflict), "nothing beyond lattice")
	_, err = domain.MigrationState{Phase: domain.PhaseCanary, Percent: 50}.Promote(20, false)
	require.True(t, fault.Of(err, fault.Invalid), "a promotion never lowers the canary")
	_, err = domain.MigrationState{Phase: domain.PhaseShadow}.Promote(100, false)
	require.True(t, fault.Of(err, fault.Invalid))
	back, err := s.Rollback()
	require.NoError(t, err)
	require.Equal(t, domain.PhaseLegacy, back.Phase)
	_, err = back.Rollback()
	require.True(t, fault.Of(err, fault.Conflict))
	cred, err := domain.MigrationState{}.Promote(0, true)
	require.NoError(t, err)
	require.Equal(t, domain.MigrationState{Phase: domain.PhaseCanary, Percent: domain.DefaultCanaryPercent}, cred, "credential routes are never shadowed")

	routes := []domain.Route{
		{Prefix: "/v1/resources", Upstream: "legacy", Auth: domain.OptionalAuth, Class: "default", Timeout: time.Second,
			Migration: &domain.Migration{Lattice: "resource", Ignore: []string{"id"}}},
		{Prefix: "/v1/sessions", Upstream: "legacy", Auth: domain.OptionalAuth, Class: "default", Timeout: time.Second,
			Migration: &domain.Migration{Lattice: "auth"}},
	}
	table, err := domain.NewTable(routes, map[string]bool{"legacy": true, "resource": true, "auth": true}, map[string]bool{"default": true})
	require.NoError(t, err)
	for _, c := range []struct {
		state          domain.MigrationState
		upstream       string
		split, shadow  bool
		sessionsShadow bool
	}{
		{domain.MigrationState{Phase: domain.PhaseLegacy}, "legacy", false, false, false},
		{domain.MigrationState{Phase: domain.PhaseShadow}, "legacy", false, true, false},
		{domain.MigrationState{Phase: domain.PhaseCanary, Percent: 30}, "legacy", true, true, false},
		{domain.MigrationState{Phase: domain.PhaseLattice}, "resource", false, false, false},
		{domain.MigrationState{Phase: "bogus"}, "legacy", false, false, false},
	} {
		applied := table.WithStates(map[string]domain.MigrationState{"/v1/resources": c.state, "/v1/sessions": c.state})
		r, err := applied.Match("/v1/resources/x")
		require.NoError(t, err)
		require.Equal(t, c.upstream, r.Upstream, c.state.Phase)
		require.Equal(t, c.split, r.Split != nil, c.state.Phase)
		require.Equal(t, c.shadow, r.Shadow != nil, c.state.Phase)
		if c.split {
			require.Equal(t, domain.Split{Upstream: "resource", Percent: 30}, *r.Split)
		}
		sessions, err := applied.Match("/v1/sessions")
		require.NoError(t, err)
		require.Nil(t, sessions.Shadow, "a credential route is never shadowed, whatever its state")
	}
	_, err = domain.NewTable([]domain.Route{{Prefix: "/x", Upstream: "legacy", Auth: domain.Public, Class: "default", Timeout: time.Second,
		Migration: &domain.Migration{Lattice: "resource"}, Split: &domain.Split{Upstream: "resource", Percent: 5}}},
		map[string]bool{"legacy": true, "resource": true}, map[string]bool{"default": true})
	require.Error(t, err, "a migration route's split comes from its state")
}
