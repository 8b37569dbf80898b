package app

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

// LoginInput is a password login from a client at IP with UserAgent.
type LoginInput struct {
	Email, Password string
	IP, UserAgent   string
}

// NewSession is a created session and its token, which is returned only
// once.
type NewSession struct {
	Session domain.Session
	Token   string
}

// Login checks the password and opens a session. Failed attempts count
// against both the account and the client address; either reaching its
// limit locks further attempts for a while, with the same error whether or
// not the password would have matched.
func (s *Service) Login(ctx context.Context, in LoginInput) (NewSession, error) {
	u, err := s.CheckPassword(ctx, in.Email, in.Password, in.IP)
	if err != nil {
		return NewSession{}, err
	}
	return s.openSession(ctx, u, in.IP, in.UserAgent)
}

// CheckPassword verifies an email and password under the login throttle and
// returns the user. The OAuth login form uses it too.
func (s *Service) CheckPassword(ctx context.Context, rawEmail, password, ip string) (domain.User, error) {
	now := s.deps.Clock.Now()
	email := strings.ToLower(strings.TrimSpace(rawEmail))
	keys := []struct {
		key    string
		policy domain.ThrottlePolicy
	}{{"account:" + email, s.opts.AccountThrottle}, {"ip:" + ip, s.opts.IPThrottle}}
	for _, k := range keys {
		until, err := s.deps.Throttle.LockedUntil(ctx, k.key, now)
		if err != nil {
			return domain.User{}, err
		}
		if !until.IsZero() {
			return domain.User{}, domain.ErrLockedOut(until, now)
		}
	}
	u, err := s.deps.Users.ByEmail(ctx, email)
	hash := u.PasswordHash
	switch {
	case errors.Is(err, domain.ErrUserNotFound):
		hash = s.dummyHash
	case err != nil:
		return domain.User{}, err
	}
	ok, err := s.deps.Hasher.Verify(password, hash)
	if err != nil {
		return domain.User{}, err
	}
	if !ok || u.ID == "" {
		var locked time.Time
		for _, k := range keys {
			until, err := s.deps.Throttle.Fail(ctx, k.key, k.policy, now)
			if err != nil {
				return domain.User{}, err
			}
			if until.After(locked) {
				locked = until
			}
		}
		if !locked.IsZero() {
			return domain.User{}, domain.ErrLockedOut(locked, now)
		}
		return domain.User{}, domain.ErrInvalidCredentials
	}
	if err := s.deps.Throttle.Reset(ctx, keys[0].key); err != nil {
		return domain.User{}, err
	}
	return u, nil
}

func (s *Service) openSession(ctx context.Context, u domain.User, ip, userAgent string) (NewSession, error) {
	now := s.deps.Clock.Now()
	token := randomToken(domain.SessionTokenPrefix)
	sess := domain.Session{
		ID: newID(), UserID: u.ID, TokenHash: domain.HashToken(token),
		UserAgent: domain.Truncate(userAgent, 512), IP: domain.Truncate(ip, 64),
		CreatedAt: now, ExpiresAt: now.Add(s.opts.SessionTTL),
	}
	if err := s.deps.Sessions.Create(ctx, sess); err != nil {
		return NewSession{}, err
	}
	return NewSession{Session: sess, Token: token}, nil
}

// SessionByToken returns the live session a session token names.
func (s *Service) SessionByToken(ctx context.Context, token string) (domain.Session, error) {
	if !strings.HasPrefix(token, domain.SessionTokenPrefix) {
		return domain.Session{}, domain.ErrSessionNotFound
	}
	return s.deps.Sessions.ByTokenHash(ctx, domain.HashToken(token), s.deps.Clock.Now())
}

// ListSessions returns the principal's live sessions.
func (s *Service) ListSessions(ctx context.Context, p domain.Principal) ([]domain.Session, error) {
	return s.deps.Sessions.ListByUser(ctx, p.UserID, s.deps.Clock.Now())
}

// RevokeSession ends one of the principal's sessions.
func (s *Service) RevokeSession(ctx context.Context, p domain.Principal, id string) error {
	return s.deps.Sessions.Delete(ctx, p.UserID, id)
}

// Logout ends the session the principal authenticated with.
func (s *Service) Logout(ctx context.Context, p domain.Principal) error {
	if p.SessionID == "" {
		return fault.New(fault.Conflict, "this credential is not a session; revoke it instead")
	}
	return s.deps.Sessions.Delete(ctx, p.UserID, p.SessionID)
}

// Authenticate resolves a bearer credential to a principal. Today it
// accepts session tokens; unknown or expired credentials give
// domain.ErrUnauthenticated.
func (s *Service) Authenticate(ctx context.Context, bearer string) (domain.Principal, error) {
	sess, err := s.SessionByToken(ctx, bearer)
	if errors.Is(err, domain.ErrSessionNotFound) {
		return domain.Principal{}, domain.ErrUnauthenticated
	}
	if err != nil {
		return domain.Principal{}, err
	}
	u, err := s.deps.Users.ByID(ctx, sess.UserID)
	if errors.Is(err, domain.ErrUserNotFound) {
		return domain.Principal{}, domain.ErrUnauthenticated
	}
	if err != nil {
		return domain.Principal{}, err
	}
	return domain.Principal{UserID: u.ID, Role: u.Role, Scopes: domain.RoleScopes(u.Role), SessionID: sess.ID}, nil
}
