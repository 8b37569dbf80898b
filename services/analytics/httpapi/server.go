// Package httpapi is the analytics service's HTTP edge: usage reports and
// the audit log on the generated strict server. Who the caller is comes
// from the shared token verifier; what they may see is decided in the use
// cases.
package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"
	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/lattice-platform/lattice/pkg/access"
	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/platform/apimw"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/analytics/app"
	"github.com/lattice-platform/lattice/services/analytics/domain"
	"github.com/lattice-platform/lattice/services/analytics/oapi"
)

// Server implements the generated strict interface.
type Server struct {
	app *app.Service
}

var _ oapi.StrictServerInterface = (*Server)(nil)

// Handler returns the analytics API: validation, then the generated router.
func Handler(svc *app.Service, verifier ports.TokenVerifier) (http.Handler, error) {
	spec, err := oapi.GetSpec()
	if err != nil {
		return nil, err
	}
	return apimw.Mount(spec, verifier, nil, func(r chi.Router) {
		strict := oapi.NewStrictHandlerWithOptions(&Server{app: svc}, nil, oapi.StrictHTTPServerOptions{
			RequestErrorHandlerFunc:  apimw.RequestError,
			ResponseErrorHandlerFunc: apimw.ResponseError,
		})
		oapi.HandlerWithOptions(strict, oapi.ChiServerOptions{BaseRouter: r, ErrorHandlerFunc: apimw.RequestError})
	})
}

// caller is who the request acts for, as the edge established it
// (apimw.Identity; the spec requires a credential for every operation).
func (s *Server) caller(ctx context.Context) (domain.Caller, error) {
	c := access.CallerFrom(ctx)
	return domain.Caller{Subject: c.Subject, Scopes: c.Scopes, Bearer: c.Credential}, nil
}

func toPoint(p app.Point) oapi.UsagePoint {
	out := oapi.UsagePoint{Start: p.Start, Requests: p.Requests, Errors: p.Errors, BytesIn: p.BytesIn, BytesOut: p.BytesOut,
		P50Ms: p.P50, P95Ms: p.P95, P99Ms: p.P99}
	if p.Group != "" {
		out.Group = &p.Group
	}
	return out
}

// GetUsage answers a usage series.
func (s *Server) GetUsage(ctx context.Context, req oapi.GetUsageRequestObject) (oapi.GetUsageResponseObject, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	q := app.UsageQuery{From: req.Params.From, To: req.Params.To, Granularity: domain.Hour}
	if req.Params.Granularity != nil {
		q.Granularity = domain.Granularity(*req.Params.Granularity)
	}
	if req.Params.GroupBy != nil {
		q.GroupBy = string(*req.Params.GroupBy)
	}
	points, err := s.app.UsageReport(ctx, c, q)
	if err != nil {
		return nil, err
	}
	out := oapi.GetUsage200JSONResponse{Granularity: string(q.Granularity), Points: make([]oapi.UsagePoint, 0, len(points))}
	if q.GroupBy != "" {
		out.GroupBy = &q.GroupBy
	}
	for _, p := range points {
		out.Points = append(out.Points, toPoint(p))
	}
	return out, nil
}

// GetSummary answers the overview numbers.
func (s *Server) GetSummary(ctx context.Context, req oapi.GetSummaryRequestObject) (oapi.GetSummaryResponseObject, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	sum, err := s.app.UsageSummary(ctx, c, req.Params.From, req.Params.To)
	if err != nil {
		return nil, err
	}
	out := oapi.GetSummary200JSONResponse{Total: toPoint(sum.Total), TopRoutes: make([]oapi.UsagePoint, 0, len(sum.TopRoutes))}
	for _, p := range sum.TopRoutes {
		out.TopRoutes = append(out.TopRoutes, toPoint(p))
	}
	return out, nil
}

// GetTopResources ranks the most-read resources the caller may read.
func (s *Server) GetTopResources(ctx context.Context, req oapi.GetTopResourcesRequestObject) (oapi.GetTopResourcesResponseObject, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	limit := 10
	if req.Params.Limit != nil {
		limit = *req.Params.Limit
	}
	top, err := s.app.TopResources(ctx, c, req.Params.From, req.Params.To, limit)
	if err != nil {
		return nil, err
	}
	out := oapi.GetTopResources200JSONResponse{Items: make([]oapi.ResourceReads, 0, len(top))}
	for _, r := range top {
		out.Items = append(out.Items, oapi.ResourceReads{ResourceId: apimw.UUID(r.ResourceID), Reads: r.Reads})
	}
	return out, nil
}

// GetResourceUsage answers a resource's recent reads.
func (s *Server) GetResourceUsage(ctx context.Context, req oapi.GetResourceUsageRequestObject) (oapi.GetResourceUsageResponseObject, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	u, err := s.app.ResourceUsage(ctx, c, req.Id.String())
	if err != nil {
		return nil, err
	}
	return oapi.GetResourceUsage200JSONResponse{ResourceId: req.Id, Reads7d: u.Reads7Days, Reads30d: u.Reads30Days,
		Since: openapi_types.Date{Time: u.Since}, Until: openapi_types.Date{Time: u.Until}}, nil
}

// ListAuditEvents pages through the audit log.
func (s *Server) ListAuditEvents(ctx context.Context, req oapi.ListAuditEventsRequestObject) (oapi.ListAuditEventsResponseObject, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	p := req.Params
	var f app.AuditFilter
	if p.Actor != nil {
		f.Actor = *p.Actor
	}
	if p.Action != nil {
		f.Action = *p.Action
	}
	if p.Target != nil {
		f.Target = *p.Target
	}
	if p.Since != nil {
		f.Since = *p.Since
	}
	if p.Until != nil {
		f.Until = *p.Until
	}
	limit := 100
	if p.Limit != nil {
		limit = *p.Limit
	}
	var after int64
	if p.Cursor != nil {
		if after, err = strconv.ParseInt(*p.Cursor, 10, 64); err != nil || after < 0 {
			return nil, fault.InvalidField("cursor", "not a cursor this API returned")
		}
	}
	records, err := s.app.ListAudit(ctx, c, f, after, limit+1)
	if err != nil {
		return nil, err
	}
	out := oapi.ListAuditEvents200JSONResponse{Items: make([]oapi.AuditEvent, 0, len(records))}
	if len(records) > limit {
		records = records[:limit]
		next := strconv.FormatInt(records[limit-1].Seq, 10)
		out.NextCursor = &next
	}
	for _, r := range records {
		var event map[string]any
		if err := json.Unmarshal(r.Canonical, &event); err != nil {
			event = map[string]any{"unreadable": true} // verification reports why
		}
		out.Items = append(out.Items, oapi.AuditEvent{Seq: r.Seq, Id: r.ID, Time: r.Time, Actor: r.Actor, Action: r.Action, Target: r.Target, Event: event})
	}
	return out, nil
}

// VerifyAuditEvents checks the chain over a range.
func (s *Server) VerifyAuditEvents(ctx context.Context, req oapi.VerifyAuditEventsRequestObject) (oapi.VerifyAuditEventsResponseObject, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	var from, to int64 = 1, 0
	if req.Body != nil {
		if req.Body.From != nil {
			from = *req.Body.From
		}
		if req.Body.To != nil {
			to = *req.Body.To
		}
	}
	v, err := s.app.VerifyAudit(ctx, c, from, to)
	if err != nil {
		return nil, err
	}
	out := oapi.VerifyAuditEvents200JSONResponse{Ok: v.Broken == nil, From: v.From, To: v.To, Entries: v.Entries,
		Checkpoints: v.Checkpoints, ExportedCheckpoints: &v.Exported}
	if v.Broken != nil {
		out.Broken = &oapi.ChainBreak{Seq: v.Broken.Seq, Reason: v.Broken.Reason}
	}
	if len(v.Gaps) > 0 {
		gaps := make([]oapi.CheckpointGap, len(v.Gaps))
		for i, g := range v.Gaps {
			gaps[i] = oapi.CheckpointGap{AfterSeq: g.AfterSeq, BeforeSeq: g.BeforeSeq, After: g.After, Before: g.Before}
		}
		out.CheckpointGaps = &gaps
	}
	return out, nil
}
