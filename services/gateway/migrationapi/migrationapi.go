// Package migrationapi is the HTTP edge of the gateway's route-by-route
// migration (package migration): the state of each migration route, and
// promotion and rollback, for callers with the migration:admin scope.
package migrationapi

import (
	"context"

	"github.com/lattice-platform/lattice/pkg/access"
	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/services/gateway/domain"
	"github.com/lattice-platform/lattice/services/gateway/migration"
	"github.com/lattice-platform/lattice/services/gateway/oapi"
	"github.com/lattice-platform/lattice/services/gateway/proxy"
)

// Scope is what a caller needs to see or change migration states.
const Scope = "migration:admin"

// Server implements the migration operations of the gateway's generated
// strict interface.
type Server struct {
	svc    *migration.Service // nil: no migration store here
	shadow func(prefix string) proxy.ShadowStats
}

// New returns a server over svc (nil: the operations answer 503), showing
// each route's shadow comparisons from shadow.
func New(svc *migration.Service, shadow func(prefix string) proxy.ShadowStats) *Server {
	return &Server{svc: svc, shadow: shadow}
}

func (s *Server) admit(ctx context.Context) (string, error) {
	c := access.CallerFrom(ctx)
	switch {
	case c.Anonymous():
		return "", fault.New(fault.Unauthenticated, "a valid bearer credential is required")
	case !c.Has(Scope):
		return "", fault.New(fault.Forbidden, "missing scope: "+Scope)
	case s.svc == nil:
		return "", fault.New(fault.Unavailable, "this gateway keeps no migration states")
	}
	return c.Subject, nil
}

// ListMigrationRoutes answers GET /v1/migration/routes.
func (s *Server) ListMigrationRoutes(ctx context.Context, _ oapi.ListMigrationRoutesRequestObject) (oapi.ListMigrationRoutesResponseObject, error) {
	if _, err := s.admit(ctx); err != nil {
		return nil, err
	}
	items := []oapi.MigrationRoute{}
	for _, r := range s.svc.Status() {
		items = append(items, s.routeJSON(r.Prefix, r.Legacy, r.Lattice, r.State))
	}
	return oapi.ListMigrationRoutes200JSONResponse{Items: items}, nil
}

// PromoteMigrationRoute answers POST /v1/migration/routes/promote.
func (s *Server) PromoteMigrationRoute(ctx context.Context, req oapi.PromoteMigrationRouteRequestObject) (oapi.PromoteMigrationRouteResponseObject, error) {
	by, err := s.admit(ctx)
	if err != nil {
		return nil, err
	}
	percent := 0
	if req.Body.Percent != nil {
		percent = *req.Body.Percent
	}
	st, err := s.svc.Promote(ctx, req.Body.Route, percent, by, deref(req.Body.Reason))
	if err != nil {
		return nil, err
	}
	return oapi.PromoteMigrationRoute200JSONResponse(s.answer(req.Body.Route, st)), nil
}

// RollbackMigrationRoute answers POST /v1/migration/routes/rollback.
func (s *Server) RollbackMigrationRoute(ctx context.Context, req oapi.RollbackMigrationRouteRequestObject) (oapi.RollbackMigrationRouteResponseObject, error) {
	by, err := s.admit(ctx)
	if err != nil {
		return nil, err
	}
	st, err := s.svc.Rollback(ctx, req.Body.Route, by, deref(req.Body.Reason))
	if err != nil {
		return nil, err
	}
	return oapi.RollbackMigrationRoute200JSONResponse(s.answer(req.Body.Route, st)), nil
}

// answer is the changed route with its new state.
func (s *Server) answer(prefix string, st domain.MigrationState) oapi.MigrationRoute {
	for _, r := range s.svc.Status() {
		if r.Prefix == prefix {
			return s.routeJSON(r.Prefix, r.Legacy, r.Lattice, st)
		}
	}
	return s.routeJSON(prefix, "", "", st)
}

func (s *Server) routeJSON(prefix, legacy, lattice string, st domain.MigrationState) oapi.MigrationRoute {
	phase := st.Phase
	if phase == "" {
		phase = domain.PhaseLegacy
	}
	out := oapi.MigrationRoute{Route: prefix, Legacy: legacy, Lattice: lattice, Phase: oapi.MigrationRoutePhase(phase)}
	if st.Percent > 0 {
		out.Percent = &st.Percent
	}
	if !st.UpdatedAt.IsZero() {
		out.UpdatedAt = &st.UpdatedAt
	}
	if st.UpdatedBy != "" {
		out.UpdatedBy = &st.UpdatedBy
	}
	if st.Reason != "" {
		out.Reason = &st.Reason
	}
	stats := s.shadow(prefix)
	parity := oapi.ShadowParity{Compared: stats.Compared, Matched: stats.Matched, Failed: stats.Failed, Skipped: stats.Skipped, RecentDiffs: []oapi.ShadowDiff{}}
	if stats.Compared > 0 {
		p := float64(stats.Matched) / float64(stats.Compared)
		parity.Parity = &p
	}
	for _, d := range stats.Recent {
		parity.RecentDiffs = append(parity.RecentDiffs, oapi.ShadowDiff{At: d.At, Method: d.Method, Path: d.Path,
			LegacyStatus: d.PrimaryStatus, LatticeStatus: d.ShadowStatus, LegacyBody: d.PrimaryBody, LatticeBody: d.ShadowBody})
	}
	out.Shadow = &parity
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
