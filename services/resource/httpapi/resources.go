package httpapi

import (
	"context"
	"strings"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/lattice-platform/lattice/pkg/platform/apimw"
	"github.com/lattice-platform/lattice/services/resource/app"
	"github.com/lattice-platform/lattice/services/resource/domain"
	"github.com/lattice-platform/lattice/services/resource/oapi"
)

func inputOf(b oapi.ResourceInput) app.Input {
	in := app.Input{Title: b.Title, ContentType: "text/plain", Visibility: domain.Private, Metadata: map[string]string{}}
	if b.Body != nil {
		in.Body = *b.Body
	}
	if b.ContentType != nil {
		in.ContentType = string(*b.ContentType)
	}
	if b.Metadata != nil {
		in.Metadata = *b.Metadata
	}
	if b.Tags != nil {
		in.Tags = *b.Tags
	}
	if b.Visibility != nil {
		in.Visibility = domain.Visibility(*b.Visibility)
	}
	return in
}

// CreateResource creates a resource, honouring Idempotency-Key.
func (s *Server) CreateResource(ctx context.Context, req oapi.CreateResourceRequestObject) (oapi.CreateResourceResponseObject, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	var key string
	if req.Params.IdempotencyKey != nil {
		key = *req.Params.IdempotencyKey
	}
	res, err := s.app.Create(ctx, c, inputOf(*req.Body), key)
	if err != nil {
		return nil, err
	}
	r := res.Resource
	return oapi.CreateResource201JSONResponse{
		Body:    toResource(r),
		Headers: oapi.CreateResource201ResponseHeaders{ETag: app.ETag(r.Version), Location: "/v1/resources/" + r.ID},
	}, nil
}

// GetResource returns one resource.
func (s *Server) GetResource(ctx context.Context, req oapi.GetResourceRequestObject) (oapi.GetResourceResponseObject, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.app.Get(ctx, c, req.Id.String())
	if err != nil {
		return nil, err
	}
	return oapi.GetResource200JSONResponse{Body: toResource(r), Headers: oapi.GetResource200ResponseHeaders{ETag: app.ETag(r.Version)}}, nil
}

// CheckResourceAccess answers which of the ids the caller may read.
func (s *Server) CheckResourceAccess(ctx context.Context, req oapi.CheckResourceAccessRequestObject) (oapi.CheckResourceAccessResponseObject, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(req.Body.Ids))
	for i, id := range req.Body.Ids {
		ids[i] = id.String()
	}
	readable, err := s.app.Readable(ctx, c, ids)
	if err != nil {
		return nil, err
	}
	out := oapi.CheckResourceAccess200JSONResponse{Readable: make([]openapi_types.UUID, len(readable))}
	for i, id := range readable {
		out.Readable[i] = apimw.UUID(id)
	}
	return out, nil
}

// PatchResource applies a JSON merge patch.
func (s *Server) PatchResource(ctx context.Context, req oapi.PatchResourceRequestObject) (oapi.PatchResourceResponseObject, error) {
	c, pre, err := s.callerAndPrecondition(ctx, req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	b := req.Body
	p := domain.Patch{Title: b.Title, Body: b.Body, Tags: b.Tags}
	if b.ContentType != nil {
		ct := string(*b.ContentType)
		p.ContentType = &ct
	}
	if b.Visibility != nil {
		v := domain.Visibility(*b.Visibility)
		p.Visibility = &v
	}
	if b.Metadata.IsSpecified() {
		if b.Metadata.IsNull() {
			p.ClearMetadata = true
		} else {
			p.Metadata = b.Metadata.MustGet()
		}
	}
	r, err := s.app.Update(ctx, c, req.Id.String(), pre, p)
	if err != nil {
		return nil, err
	}
	return oapi.PatchResource200JSONResponse{Body: toResource(r), Headers: oapi.PatchResource200ResponseHeaders{ETag: app.ETag(r.Version)}}, nil
}

// ReplaceResource replaces every editable field.
func (s *Server) ReplaceResource(ctx context.Context, req oapi.ReplaceResourceRequestObject) (oapi.ReplaceResourceResponseObject, error) {
	c, pre, err := s.callerAndPrecondition(ctx, req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	r, err := s.app.Replace(ctx, c, req.Id.String(), pre, inputOf(*req.Body))
	if err != nil {
		return nil, err
	}
	return oapi.ReplaceResource200JSONResponse{Body: toResource(r), Headers: oapi.ReplaceResource200ResponseHeaders{ETag: app.ETag(r.Version)}}, nil
}

// DeleteResource deletes a resource.
func (s *Server) DeleteResource(ctx context.Context, req oapi.DeleteResourceRequestObject) (oapi.DeleteResourceResponseObject, error) {
	c, pre, err := s.callerAndPrecondition(ctx, req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	if err := s.app.Delete(ctx, c, req.Id.String(), pre); err != nil {
		return nil, err
	}
	return oapi.DeleteResource204Response{}, nil
}

func (s *Server) callerAndPrecondition(ctx context.Context, ifMatch *string) (domain.Caller, app.Precondition, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return domain.Caller{}, app.Precondition{}, err
	}
	var h string
	if ifMatch != nil {
		h = *ifMatch
	}
	pre, err := app.ParseIfMatch(h)
	return c, pre, err
}

// ListResources pages through readable resources.
func (s *Server) ListResources(ctx context.Context, req oapi.ListResourcesRequestObject) (oapi.ListResourcesResponseObject, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	p := req.Params
	in := app.ListInput{Limit: 50}
	if p.Limit != nil {
		in.Limit = *p.Limit
	}
	str := func(v *string) string {
		if v == nil {
			return ""
		}
		return *v
	}
	in.Cursor, in.Owner, in.Tag = str(p.Cursor), str(p.Owner), str(p.Tag)
	if p.Visibility != nil {
		in.Visibility = domain.Visibility(*p.Visibility)
	}
	if p.Metadata != nil {
		in.MetaKey, in.MetaValue, _ = strings.Cut(*p.Metadata, "=")
	}
	if p.UpdatedSince != nil {
		in.UpdatedSince = p.UpdatedSince.UTC().Truncate(time.Microsecond)
	}
	if p.Sort != nil {
		in.Sort = domain.SortField(*p.Sort)
	}
	page, err := s.app.List(ctx, c, in)
	if err != nil {
		return nil, err
	}
	out := oapi.ResourcePage{Items: make([]oapi.Resource, len(page.Items))}
	for i, r := range page.Items {
		out.Items[i] = toResource(r)
	}
	if page.NextCursor != "" {
		out.NextCursor = &page.NextCursor
	}
	return oapi.ListResources200JSONResponse(out), nil
}

// ListVersions lists a resource's versions.
func (s *Server) ListVersions(ctx context.Context, req oapi.ListVersionsRequestObject) (oapi.ListVersionsResponseObject, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	vs, err := s.app.Versions(ctx, c, req.Id.String())
	if err != nil {
		return nil, err
	}
	out := oapi.VersionList{}
	for _, v := range vs {
		out.Items = append(out.Items, struct {
			CreatedAt time.Time `json:"created_at"`
			Version   int64     `json:"version"`
		}{CreatedAt: v.CreatedAt, Version: v.Version})
	}
	return oapi.ListVersions200JSONResponse(out), nil
}

// GetVersion returns one version.
func (s *Server) GetVersion(ctx context.Context, req oapi.GetVersionRequestObject) (oapi.GetVersionResponseObject, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.app.Version(ctx, c, req.Id.String(), req.Version)
	if err != nil {
		return nil, err
	}
	return oapi.GetVersion200JSONResponse(toResource(r)), nil
}
