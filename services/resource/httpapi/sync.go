package httpapi

import (
	"context"

	"github.com/lattice-platform/lattice/services/resource/app"
	"github.com/lattice-platform/lattice/services/resource/oapi"
)

// SyncLegacyResource is the change feed's upsert.
func (s *Server) SyncLegacyResource(ctx context.Context, req oapi.SyncLegacyResourceRequestObject) (oapi.SyncLegacyResourceResponseObject, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	in := app.LegacyChange{LegacyID: req.LegacyId, OwnerLegacyID: b.Owner, UpdatedAt: b.UpdatedAt,
		Input: inputOf(oapi.ResourceInput{Title: b.Title, Body: b.Body, ContentType: (*oapi.ResourceInputContentType)(b.ContentType),
			Metadata: b.Metadata, Tags: b.Tags, Visibility: b.Visibility})}
	if b.CreatedAt != nil {
		in.CreatedAt = *b.CreatedAt
	}
	r, result, err := s.app.SyncLegacy(ctx, c, in)
	if err != nil {
		return nil, err
	}
	if result == app.SyncCreated {
		return oapi.SyncLegacyResource201JSONResponse{Body: toResource(r), Headers: oapi.SyncLegacyResource201ResponseHeaders{XLatticeSync: string(result)}}, nil
	}
	return oapi.SyncLegacyResource200JSONResponse{Body: toResource(r), Headers: oapi.SyncLegacyResource200ResponseHeaders{XLatticeSync: string(result)}}, nil
}

// DeleteLegacyResource is the change feed's delete.
func (s *Server) DeleteLegacyResource(ctx context.Context, req oapi.DeleteLegacyResourceRequestObject) (oapi.DeleteLegacyResourceResponseObject, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.app.SyncLegacyDelete(ctx, c, req.LegacyId); err != nil {
		return nil, err
	}
	return oapi.DeleteLegacyResource204Response{}, nil
}
