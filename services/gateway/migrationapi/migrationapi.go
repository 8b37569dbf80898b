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
)

// Scope is what a caller needs to see or change migration states.
const Scope = "migration:admin"

// Server implements the migration operations of the gateway's generated
// strict interface.
type Server struct{ svc *migration.Service } // nil: no migration store here

// New returns a server over svc (nil: the operations answer 503).
func New(svc *migration.Service) *Server { return &Server{svc: svc} }

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
		items = append(items, routeJSON(r.Prefix, r.Legacy, r.Lattice, r.State))
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
			return routeJSON(r.Prefix, r.Legacy, r.Lattice, st)
		}
	}
	return routeJSON(prefix, "", "", st)
}

func routeJSON(prefix, legacy, lattice string, st domain.MigrationState) oapi.MigrationRoute {
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
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
