// Package httpapi is the processing service's HTTP edge: the job API,
// implemented on the generated strict server. Who the caller is comes from
// the shared token verifier; what they may see is decided in the use cases.
package httpapi

import (
	"context"
	"encoding/base64"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/lattice-platform/lattice/pkg/access"
	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/platform/apimw"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/processing/app"
	"github.com/lattice-platform/lattice/services/processing/domain"
	"github.com/lattice-platform/lattice/services/processing/oapi"
)

// Server implements the generated strict interface.
type Server struct {
	app *app.Service
}

var _ oapi.StrictServerInterface = (*Server)(nil)

// Handler returns the job API: validation, then the generated router.
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
// (apimw.Identity; the spec requires a credential for every job operation).
func (s *Server) caller(ctx context.Context) (domain.Caller, error) {
	c := access.CallerFrom(ctx)
	return domain.Caller{Subject: c.Subject, Scopes: c.Scopes, Bearer: c.Credential}, nil
}

// ListJobs pages through jobs.
func (s *Server) ListJobs(ctx context.Context, req oapi.ListJobsRequestObject) (oapi.ListJobsResponseObject, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	p := req.Params
	var f app.JobFilter
	if p.State != nil {
		f.State = domain.JobState(*p.State)
	}
	if p.Kind != nil {
		f.Kind = domain.JobKind(*p.Kind)
	}
	if p.ResourceId != nil {
		f.ResourceID = p.ResourceId.String()
	}
	limit := 50
	if p.Limit != nil {
		limit = *p.Limit
	}
	var after string
	if p.Cursor != nil {
		raw, err := base64.RawURLEncoding.DecodeString(*p.Cursor)
		if err != nil || len(raw) == 0 {
			return nil, fault.InvalidField("cursor", "not a cursor this API returned")
		}
		after = string(raw)
	}
	jobs, err := s.app.ListJobs(ctx, c, f, after, limit+1)
	if err != nil {
		return nil, err
	}
	out := oapi.ListJobs200JSONResponse{Items: make([]oapi.Job, 0, len(jobs))}
	if len(jobs) > limit {
		jobs = jobs[:limit]
		next := base64.RawURLEncoding.EncodeToString([]byte(jobs[limit-1].ID))
		out.NextCursor = &next
	}
	for _, j := range jobs {
		out.Items = append(out.Items, toJob(j))
	}
	return out, nil
}

// EnqueueJob queues a reindex.
func (s *Server) EnqueueJob(ctx context.Context, req oapi.EnqueueJobRequestObject) (oapi.EnqueueJobResponseObject, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	j, err := s.app.EnqueueReindex(ctx, c, req.Body.ResourceId.String())
	if err != nil {
		return nil, err
	}
	return oapi.EnqueueJob202JSONResponse(toJob(j)), nil
}

// GetJob returns one job.
func (s *Server) GetJob(ctx context.Context, req oapi.GetJobRequestObject) (oapi.GetJobResponseObject, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	j, err := s.app.GetJob(ctx, c, req.Id.String())
	if err != nil {
		return nil, err
	}
	return oapi.GetJob200JSONResponse(toJob(j)), nil
}

// CancelJob stops a job.
func (s *Server) CancelJob(ctx context.Context, req oapi.CancelJobRequestObject) (oapi.CancelJobResponseObject, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	j, err := s.app.CancelJob(ctx, c, req.Id.String())
	if err != nil {
		return nil, err
	}
	return oapi.CancelJob200JSONResponse(toJob(j)), nil
}

// RetryJob queues a job again.
func (s *Server) RetryJob(ctx context.Context, req oapi.RetryJobRequestObject) (oapi.RetryJobResponseObject, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	j, err := s.app.RetryJob(ctx, c, req.Id.String())
	if err != nil {
		return nil, err
	}
	return oapi.RetryJob200JSONResponse(toJob(j)), nil
}

func toJob(j domain.Job) oapi.Job {
	out := oapi.Job{
		Id: apimw.UUID(j.ID), Kind: oapi.JobKind(j.Kind), ResourceId: apimw.UUID(j.ResourceID), State: oapi.JobState(j.State),
		Attempts: j.Attempts, MaxAttempts: j.MaxAttempts, Progress: j.Progress, CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt,
	}
	if j.ResourceVersion > 0 {
		out.ResourceVersion = &j.ResourceVersion
	}
	if j.FileID != "" {
		f := apimw.UUID(j.FileID)
		out.FileId = &f
	}
	if j.LastError != "" {
		out.LastError = &j.LastError
	}
	if j.State == domain.Queued && j.Attempts > 0 {
		out.NextAttemptAt = &j.NextAttemptAt
	}
	return out
}
