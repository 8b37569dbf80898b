package httpapi

import (
	"context"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/platform/apimw"
	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/domain"
	"github.com/lattice-platform/lattice/services/auth/oapi"
)

var errNoEndpoint = fault.New(fault.NotFound, "no such endpoint")

// CreateSession logs in with a password.
func (s *Server) CreateSession(ctx context.Context, req oapi.CreateSessionRequestObject) (oapi.CreateSessionResponseObject, error) {
	c := callerFrom(ctx)
	ns, err := s.app.Login(ctx, app.LoginInput{
		Email: req.Body.Email, Password: req.Body.Password, IP: c.ip, UserAgent: c.userAgent,
	})
	if err != nil {
		return nil, err
	}
	return oapi.CreateSession201JSONResponse{Session: toSession(ns.Session, ns.Session.ID), Token: ns.Token}, nil
}

// ListSessions lists the caller's sessions, flagging the current one.
func (s *Server) ListSessions(ctx context.Context, _ oapi.ListSessionsRequestObject) (oapi.ListSessionsResponseObject, error) {
	p, err := s.principal(ctx)
	if err != nil {
		return nil, err
	}
	list, err := s.app.ListSessions(ctx, p)
	if err != nil {
		return nil, err
	}
	out := oapi.SessionList{Items: make([]oapi.Session, len(list))}
	for i, sess := range list {
		out.Items[i] = toSession(sess, p.SessionID)
	}
	return oapi.ListSessions200JSONResponse(out), nil
}

// RevokeSession ends one of the caller's sessions.
func (s *Server) RevokeSession(ctx context.Context, req oapi.RevokeSessionRequestObject) (oapi.RevokeSessionResponseObject, error) {
	p, err := s.principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.app.RevokeSession(ctx, p, req.Id.String()); err != nil {
		return nil, err
	}
	return oapi.RevokeSession204Response{}, nil
}

// Logout ends the session that made the request.
func (s *Server) Logout(ctx context.Context, _ oapi.LogoutRequestObject) (oapi.LogoutResponseObject, error) {
	p, err := s.principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.app.Logout(ctx, p); err != nil {
		return nil, err
	}
	return oapi.Logout204Response{}, nil
}

func toSession(s domain.Session, currentID string) oapi.Session {
	return oapi.Session{
		Id: apimw.UUID(s.ID), CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt,
		UserAgent: s.UserAgent, Ip: s.IP, Current: s.ID == currentID,
	}
}
