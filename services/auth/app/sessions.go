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

// Login checks the password and opens a session, under the login throttle
// (domain.LoginThrottle).
func (s *Sessions) Login(ctx context.Context, in LoginInput) (NewSession, error) {
	u, err := s.CheckPassword(ctx, in.Email, in.Password, in.IP)
	if err != nil {
		return NewSession{}, err
	}
	return s.OpenSession(ctx, u, in.IP, in.UserAgent)
}

// throttleKeys names the three counters a login from addr on email adds
// to, in the order of domain.LoginCounts.
func throttleKeys(email, addr string) []string {
	email, addr = domain.Truncate(email, 320), domain.Truncate(addr, 64)
	return []string{"pair:" + email + "|" + addr, "addr:" + addr, "account:" + email}
}

// CheckPassword verifies an email and password from a client at addr under
// the login throttle and returns the user. The OAuth login form uses it
// too. A refused attempt gets the same error whether or not the password
// would have matched, and is not recorded: the failures that caused the
// wait were, and a flood must not flood the log.
func (s *Sessions) CheckPassword(ctx context.Context, rawEmail, password, addr string) (domain.User, error) {
	now := s.clock.Now()
	email := strings.ToLower(strings.TrimSpace(rawEmail))
	keys := throttleKeys(email, addr)
	counts, err := s.throttle.Failures(ctx, keys...)
	if err != nil {
		return domain.User{}, err
	}
	adm := s.opts.Throttle.Admit(domain.LoginCounts{Pair: counts[0], Address: counts[1], Account: counts[2]}, now)
	if adm.RefuseUntil.After(now) {
		return domain.User{}, domain.ErrLockedOut(adm.RefuseUntil, now)
	}
	if adm.Delay > 0 {
		if err := s.opts.Sleep(ctx, adm.Delay); err != nil {
			return domain.User{}, err
		}
	}
	u, err := s.users.ByEmail(ctx, email)
	hash := u.PasswordHash
	switch {
	case errors.Is(err, domain.ErrUserNotFound):
		hash = s.dummyHash
	case err != nil:
		return domain.User{}, err
	}
	ok, err := s.hasher.Verify(ctx, password, hash)
	if err != nil {
		return domain.User{}, err
	}
	if ok && u.ID != "" {
		if err := s.throttle.Reset(ctx, keys[0]); err != nil {
			return domain.User{}, err
		}
		if s.hasher.NeedsRehash(hash) {
			if err := s.upgradeHash(ctx, u, password); err != nil {
				return domain.User{}, err
			}
		}
		return u, nil
	}
	return domain.User{}, s.loginFailed(ctx, u, email, addr, keys, now)
}

// upgradeHash replaces the hash u's password just matched, when it is a
// migrated user's legacy hash or was made with older parameters, by a
// fresh one, audited as user.password_rehashed with the old scheme's name.
// The legacy hash is gone from then on. When hashing is too busy, the
// login goes on and the next one tries again; a hash changed meanwhile (a
// password change) is left alone.
func (s *Sessions) upgradeHash(ctx context.Context, u domain.User, password string) error {
	fresh, err := s.hasher.Hash(ctx, password)
	if fault.Of(err, fault.Unavailable) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.rec.auditedAll(ctx, func(ctx context.Context) ([]audit, error) {
		replaced, err := s.users.ReplacePasswordHash(ctx, u.ID, u.PasswordHash, fresh, s.clock.Now())
		if err != nil || !replaced {
			return nil, err
		}
		return []audit{{actor: u.ID, action: "user.password_rehashed", target: "user/" + u.ID,
			details: map[string]any{"from": domain.HashScheme(u.PasswordHash)}}}, nil
	})
}

// loginFailed records a failed login on every counter and returns the
// error for it: invalid credentials, or the wait the failure started.
func (s *Sessions) loginFailed(ctx context.Context, u domain.User, email, addr string, keys []string, now time.Time) error {
	target := "email/" + domain.Truncate(email, 320)
	if u.ID != "" {
		target = "user/" + u.ID
	}
	th := s.opts.Throttle
	var wait time.Time
	err := s.rec.auditedAll(ctx, func(ctx context.Context) ([]audit, error) {
		var after [3]domain.FailureCount
		for i, policy := range []domain.ThrottlePolicy{th.Pair, th.Address, th.Account} {
			c, err := s.throttle.Fail(ctx, keys[i], policy.Window, now)
			if err != nil {
				return nil, err
			}
			after[i] = c
		}
		// The wait this address now faces on this account; a clean
		// address elsewhere faces none.
		wait = th.Admit(domain.LoginCounts{Pair: after[0], Address: after[1], Account: after[2]}, now).RefuseUntil
		as := []audit{{actor: actorAnonymous, action: "login.failed", target: target, details: map[string]any{"ip": addr}}}
		if wait.After(now) {
			as = append(as, audit{actor: actorSystem, action: "login.locked_out", target: target,
				details: map[string]any{"ip": addr, "until": wait.UTC().Format(time.RFC3339)}})
		}
		return as, nil
	})
	if err != nil {
		return err
	}
	if wait.After(now) {
		return domain.ErrLockedOut(wait, now)
	}
	return domain.ErrInvalidCredentials
}

// OpenSession starts an API session (a bearer credential) for a user whose
// password was checked.
func (s *Sessions) OpenSession(ctx context.Context, u domain.User, ip, userAgent string) (NewSession, error) {
	return s.openSession(ctx, u, ip, userAgent, domain.SessionTokenPrefix)
}

// OpenBrowserSession starts the session a browser's login cookie holds:
// the authorization endpoint accepts it, no API does.
func (s *Sessions) OpenBrowserSession(ctx context.Context, u domain.User, ip, userAgent string) (NewSession, error) {
	return s.openSession(ctx, u, ip, userAgent, domain.BrowserSessionPrefix)
}

func (s *Sessions) openSession(ctx context.Context, u domain.User, ip, userAgent, prefix string) (NewSession, error) {
	now := s.clock.Now()
	token := randomToken(prefix)
	sess := domain.Session{
		ID: newID(), UserID: u.ID, TokenHash: domain.HashToken(token),
		UserAgent: domain.Truncate(userAgent, 512), IP: domain.Truncate(ip, 64),
		CreatedAt: now, ExpiresAt: now.Add(s.opts.SessionTTL),
	}
	err := s.rec.auditedElsewhere(ctx, audit{actor: u.ID, action: "login.succeeded", target: "session/" + sess.ID, details: map[string]any{"ip": sess.IP}},
		func(ctx context.Context) error { return s.sessions.Create(ctx, sess) },
		func(ctx context.Context) error { return s.sessions.Delete(ctx, u.ID, sess.ID) })
	if err != nil {
		return NewSession{}, err
	}
	return NewSession{Session: sess, Token: token}, nil
}

// SessionByToken returns the live API session a session token names.
func (s *Sessions) SessionByToken(ctx context.Context, token string) (domain.Session, error) {
	return s.sessionByToken(ctx, token, domain.SessionTokenPrefix)
}

// BrowserSession returns the live browser session a login cookie names.
func (s *Sessions) BrowserSession(ctx context.Context, cookie string) (domain.Session, error) {
	return s.sessionByToken(ctx, cookie, domain.BrowserSessionPrefix)
}

func (s *Sessions) sessionByToken(ctx context.Context, token, prefix string) (domain.Session, error) {
	if !strings.HasPrefix(token, prefix) {
		return domain.Session{}, domain.ErrSessionNotFound
	}
	return s.sessions.ByTokenHash(ctx, domain.HashToken(token), s.clock.Now())
}

// liveSession finds the live session a session token names and its user,
// the pair both authentication and introspection need.
func (s *Sessions) liveSession(ctx context.Context, token string) (domain.Session, domain.User, error) {
	sess, err := s.SessionByToken(ctx, token)
	if err != nil {
		return domain.Session{}, domain.User{}, err
	}
	u, err := s.users.ByID(ctx, sess.UserID)
	if err != nil {
		return domain.Session{}, domain.User{}, err
	}
	return sess, u, nil
}

// ListSessions returns the principal's live sessions.
func (s *Sessions) ListSessions(ctx context.Context, p domain.Principal) ([]domain.Session, error) {
	return s.sessions.ListByUser(ctx, p.UserID, s.clock.Now())
}

// RevokeSession ends one of the principal's sessions.
func (s *Sessions) RevokeSession(ctx context.Context, p domain.Principal, id string) error {
	return s.rec.auditedElsewhere(ctx, audit{actor: actorOf(p), action: "session.revoked", target: "session/" + id},
		func(ctx context.Context) error { return s.sessions.Delete(ctx, p.UserID, id) }, nil)
}

// Logout ends the session the principal authenticated with.
func (s *Sessions) Logout(ctx context.Context, p domain.Principal) error {
	if p.SessionID == "" {
		return fault.New(fault.Conflict, "this credential is not a session; revoke it instead")
	}
	return s.rec.auditedElsewhere(ctx, audit{actor: actorOf(p), action: "session.revoked", target: "session/" + p.SessionID, details: map[string]any{"logout": true}},
		func(ctx context.Context) error { return s.sessions.Delete(ctx, p.UserID, p.SessionID) }, nil)
}

// Authenticate resolves a bearer credential — a session token, an API key
// or an access token — to a principal. Anything unknown, expired or revoked
// gives domain.ErrUnauthenticated.
func (s *Sessions) Authenticate(ctx context.Context, bearer string) (domain.Principal, error) {
	switch {
	case strings.HasPrefix(bearer, domain.SessionTokenPrefix):
		sess, u, err := s.liveSession(ctx, bearer)
		if err != nil {
			return domain.Principal{}, unauthenticated(err)
		}
		return domain.Principal{UserID: u.ID, Role: u.Role, Scopes: domain.RoleScopes(u.Role), SessionID: sess.ID}, nil
	case strings.HasPrefix(bearer, domain.APIKeyPrefix):
		k, u, err := s.registry.liveAPIKey(ctx, bearer)
		if err != nil {
			return domain.Principal{}, unauthenticated(err)
		}
		return domain.Principal{UserID: u.ID, Role: u.Role, Scopes: domain.Intersect(k.Scopes, domain.RoleScopes(u.Role))}, nil
	case strings.Count(bearer, ".") == 2:
		id, err := s.verifier.Verify(ctx, bearer)
		if err != nil {
			return domain.Principal{}, unauthenticated(err)
		}
		p := domain.Principal{Scopes: id.Scopes, ClientID: id.ClientID}
		if id.Subject != id.ClientID { // a user's token, not a client_credentials one
			u, err := s.users.ByID(ctx, id.Subject)
			if err != nil {
				return domain.Principal{}, unauthenticated(err)
			}
			p.UserID, p.Role = u.ID, u.Role
			p.Scopes = domain.Intersect(id.Scopes, domain.RoleScopes(u.Role))
		}
		return p, nil
	}
	return domain.Principal{}, domain.ErrUnauthenticated
}

// unauthenticated turns "no such credential" outcomes into
// ErrUnauthenticated and passes infrastructure failures through.
func unauthenticated(err error) error {
	switch fault.KindOf(err) {
	case fault.NotFound, fault.Unauthenticated:
		return domain.ErrUnauthenticated
	}
	return err
}
