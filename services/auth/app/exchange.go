package app

import (
	"context"
	"errors"

	"github.com/lattice-platform/lattice/services/auth/domain"
)

// maxSubjectToken bounds the token an exchange reads; a session JWT is a
// few hundred bytes.
const maxSubjectToken = 8 << 10

// exchangeLegacySession is the RFC 8693 token exchange of a migration: a
// session token the replaced system issued becomes a Lattice access token
// for the user it belongs to, if lattice import brought that user over.
// Forged, expired, revoked and unknown-user tokens are invalid_grant
// alike, so the answer does not say which users were imported.
func (s *OAuth) exchangeLegacySession(ctx context.Context, client domain.Client, r TokenRequest) (TokenResponse, error) {
	switch {
	case r.SubjectToken == "" || r.SubjectTokenType == "":
		return TokenResponse{}, domain.OAuthErr(domain.ErrInvalidRequest, "subject_token and subject_token_type are required")
	case r.SubjectTokenType != domain.TokenTypeLegacySession:
		return TokenResponse{}, domain.OAuthErr(domain.ErrInvalidRequest, "subject_token_type must be "+domain.TokenTypeLegacySession)
	case r.RequestedTokenType != "" && r.RequestedTokenType != domain.TokenTypeAccessToken:
		return TokenResponse{}, domain.OAuthErr(domain.ErrInvalidRequest, "requested_token_type must be "+domain.TokenTypeAccessToken)
	case len(r.SubjectToken) > maxSubjectToken:
		return TokenResponse{}, domain.OAuthErr(domain.ErrInvalidGrant, ErrLegacySessionInvalid.Error())
	}
	requested, err := domain.ParseScope(r.Scope)
	if err != nil {
		return TokenResponse{}, err
	}
	legacyID, err := s.legacySessions.Verify(ctx, r.SubjectToken)
	if errors.Is(err, ErrLegacySessionInvalid) {
		return TokenResponse{}, domain.OAuthErr(domain.ErrInvalidGrant, ErrLegacySessionInvalid.Error())
	}
	if err != nil {
		return TokenResponse{}, err
	}
	var userID string
	if s.legacy != nil && legacyID != "" {
		if userID, err = s.legacy.Lookup(ctx, LegacyUserKind, legacyID); err != nil {
			return TokenResponse{}, err
		}
	}
	if userID == "" {
		return TokenResponse{}, domain.OAuthErr(domain.ErrInvalidGrant, ErrLegacySessionInvalid.Error())
	}
	u, err := s.users.ByID(ctx, userID)
	if errors.Is(err, domain.ErrUserNotFound) {
		return TokenResponse{}, domain.OAuthErr(domain.ErrInvalidGrant, ErrLegacySessionInvalid.Error())
	}
	if err != nil {
		return TokenResponse{}, err
	}
	scopes := domain.RoleScopes(u.Role)
	if len(requested) > 0 {
		if scopes, err = domain.GrantScopes(requested, scopes); err != nil {
			return TokenResponse{}, err
		}
	}
	at, err := s.keyring.issueAccess(ctx, u.ID, client.ID, scopes)
	if err != nil {
		return TokenResponse{}, err
	}
	if err := s.rec.audited(ctx, audit{actor: "client/" + client.ID, action: "token.exchanged", target: "user/" + u.ID,
		details: map[string]any{"subject_token_type": domain.TokenTypeLegacySession, "legacy_id": legacyID}}, nil); err != nil {
		return TokenResponse{}, err
	}
	return TokenResponse{AccessToken: at.Token, ExpiresIn: at.ExpiresIn, Scopes: scopes, IssuedTokenType: domain.TokenTypeAccessToken}, nil
}
