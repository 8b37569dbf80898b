package app

import (
	"context"
	"errors"
	"time"

	"github.com/lattice-platform/lattice/services/auth/domain"
)

// APIKeyRepository stores API keys.
type APIKeyRepository interface {
	// Create stores k; a duplicate hash gives a fault.Conflict error.
	Create(ctx context.Context, k domain.APIKey) error
	// ByHash returns the key with this hash, live or not, or
	// domain.ErrAPIKeyNotFound.
	ByHash(ctx context.Context, hash []byte) (domain.APIKey, error)
	// ListByUser returns the user's keys, newest first, revoked ones included.
	ListByUser(ctx context.Context, userID string) ([]domain.APIKey, error)
	// Revoke marks the user's key revoked at now, or returns
	// domain.ErrAPIKeyNotFound if the user has no such unrevoked key.
	Revoke(ctx context.Context, userID, id string, now time.Time) error
	// Touch records that the key was used at now; best effort.
	Touch(ctx context.Context, id string, now time.Time) error
}

// ClientRepository stores OAuth clients.
type ClientRepository interface {
	// Create stores c; a duplicate id gives a fault.Conflict error.
	Create(ctx context.Context, c domain.Client) error
	// ByID returns domain.ErrClientNotFound for an unknown id.
	ByID(ctx context.Context, id string) (domain.Client, error)
	// List returns every client, oldest first.
	List(ctx context.Context) ([]domain.Client, error)
	// Delete removes a client and every grant issued to it, or returns
	// domain.ErrClientNotFound.
	Delete(ctx context.Context, id string) error
}

// GrantStore keeps OAuth authorization codes and refresh tokens. Its
// spend operations are atomic, so two concurrent redemptions of one code or
// one refresh token can never both succeed.
type GrantStore interface {
	// SaveCode stores a new authorization code.
	SaveCode(ctx context.Context, c domain.AuthorizationCode) error
	// ConsumeCode spends the code with this hash and returns it. It returns
	// ErrCodeSpent if it was already spent and ErrGrantNotFound if it never
	// existed; expiry is the caller's check.
	ConsumeCode(ctx context.Context, hash []byte, now time.Time) (domain.AuthorizationCode, error)
	// SaveRefresh stores a new refresh token (the first of a family).
	SaveRefresh(ctx context.Context, t domain.RefreshToken) error
	// Rotate spends the refresh token with oldHash and, in the same
	// transaction, calls next with it and stores the token next returns (same
	// family). If the old token was already spent, its family is revoked and
	// ErrRefreshReused returned; if revoked or expired at now, or unknown,
	// ErrGrantNotFound. An error from next aborts the rotation.
	Rotate(ctx context.Context, oldHash []byte, now time.Time, next func(old domain.RefreshToken) (domain.RefreshToken, error)) (domain.RefreshToken, error)
	// RefreshByHash returns a live (unspent, unrevoked, unexpired) refresh
	// token, or ErrGrantNotFound.
	RefreshByHash(ctx context.Context, hash []byte, now time.Time) (domain.RefreshToken, error)
	// RevokeFamily revokes every token of the family.
	RevokeFamily(ctx context.Context, familyID string, now time.Time) error
}

// Grant store errors.
var (
	ErrGrantNotFound = grantErr("grant not found")
	ErrCodeSpent     = grantErr("authorization code already used")
	ErrRefreshReused = grantErr("refresh token reused")
)

type grantErr string

func (e grantErr) Error() string { return string(e) }

// SigningKeyStore keeps the access-token signing keys.
type SigningKeyStore interface {
	// Rotate stores k as the active key and retires every other active key,
	// keeping retired ones published until publishUntil, atomically.
	Rotate(ctx context.Context, k domain.SigningKey, publishUntil time.Time) error
	// Published returns the keys a verifier may need at now (the active one
	// and retired ones still published), newest first.
	Published(ctx context.Context, now time.Time) ([]domain.SigningKey, error)
}

// TokenSigner turns claims into a signed access token, and publishes the
// keys that verify them.
type TokenSigner interface {
	// Sign returns a compact JWS of claims signed with key.
	Sign(claims domain.AccessClaims, key domain.SigningKey) (string, error)
	// JWKS encodes the public halves of keys as an RFC 7517 JWK Set.
	JWKS(keys []domain.SigningKey) ([]byte, error)
}

// SessionStore keeps login sessions. Implementations treat a session past its
// ExpiresAt as absent.
type SessionStore interface {
	// Create stores s. It returns a fault.Conflict error if its id or token
	// hash is already stored.
	Create(ctx context.Context, s domain.Session) error
	// ByTokenHash returns the live session with this token hash at time now,
	// or domain.ErrSessionNotFound.
	ByTokenHash(ctx context.Context, hash []byte, now time.Time) (domain.Session, error)
	// ListByUser returns the user's live sessions at time now, newest first.
	ListByUser(ctx context.Context, userID string, now time.Time) ([]domain.Session, error)
	// Delete removes the user's session id, or returns
	// domain.ErrSessionNotFound if the user has no such session.
	Delete(ctx context.Context, userID, id string) error
}

// LoginThrottle counts failed logins per key (an account, an address, or an
// account from one address). It only counts: domain.LoginThrottle decides
// what the counts mean.
type LoginThrottle interface {
	// Failures returns the counts of keys, in order; a key that never
	// failed, or was reset, has the zero count.
	Failures(ctx context.Context, keys ...string) ([]domain.FailureCount, error)
	// Fail records a failed attempt on key at now and returns the count
	// after it. A key whose latest failure is older than window starts over
	// at one. Concurrent calls for one key are counted exactly.
	Fail(ctx context.Context, key string, window time.Duration, now time.Time) (domain.FailureCount, error)
	// Reset forgets key's failures (after a successful login).
	Reset(ctx context.Context, key string) error
}

// UserRepository stores accounts.
type UserRepository interface {
	// Create stores a new user. It returns domain.ErrEmailTaken when the
	// (normalised) email is already registered.
	Create(ctx context.Context, u domain.User) error
	// ByID returns domain.ErrUserNotFound when no user has the id.
	ByID(ctx context.Context, id string) (domain.User, error)
	// ByEmail takes a normalised email and returns domain.ErrUserNotFound when
	// no user has it.
	ByEmail(ctx context.Context, email string) (domain.User, error)
	// List returns up to limit users with ids greater than after ("" for the
	// first page), in id order (which is creation order for UUIDv7 ids).
	List(ctx context.Context, after string, limit int) ([]domain.User, error)
	// ReplacePasswordHash sets the user's hash to newHash if it is still
	// oldHash, and reports whether it was.
	ReplacePasswordHash(ctx context.Context, id, oldHash, newHash string, at time.Time) (bool, error)
}

// LegacyIDs remembers which record an imported row of another system
// became, so an import never makes a row twice.
type LegacyIDs interface {
	// Lookup returns the id a row of kind with legacyID became, or "".
	Lookup(ctx context.Context, kind, legacyID string) (string, error)
	// Record notes that the row became id; a second note of the same row
	// is a conflict (fault.Conflict).
	Record(ctx context.Context, kind, legacyID, id string, at time.Time) error
}

// LegacySessionVerifier checks a session token that the system Lattice
// replaces issued (the token exchange of a migration, RFC 8693).
type LegacySessionVerifier interface {
	// Verify returns the legacy id of the session's user (the key lattice
	// import recorded), or ErrLegacySessionInvalid for a token that is
	// forged, expired, revoked or malformed. Other errors mean the check
	// could not be made.
	Verify(ctx context.Context, token string) (legacyUserID string, err error)
}

// ErrLegacySessionInvalid is a legacy session token that does not hold.
var ErrLegacySessionInvalid = errors.New("the legacy session is not valid")
