// Package app holds the auth service's use cases, one type per aggregate:
// Accounts (users), Sessions (logins and resolving a bearer credential to a
// principal), OAuth (codes, tokens, introspection, revocation), SigningKeys
// and Clients (OAuth clients and API keys). Each holds only the ports its
// use cases need; Service composes them for the edges. It depends only on
// the domain, its own ports (ports.go) and the shared ones in pkg/ports.
package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"time"

	"github.com/google/uuid"

	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

// Deps are the adapters the use cases need.
type Deps struct {
	Users    UserRepository
	Sessions SessionStore
	Throttle LoginThrottle
	Hasher   ports.PasswordHasher
	Clients  ClientRepository
	Grants   GrantStore
	Keys     SigningKeyStore
	Signer   TokenSigner
	APIKeys  APIKeyRepository
	// LegacyIDs maps imported rows to users (lattice import); nil: this
	// service imports nothing.
	LegacyIDs LegacyIDs
	// LegacySessions checks the session tokens of the system Lattice
	// replaces, for the token exchange (RFC 8693); nil: that grant is not
	// offered.
	LegacySessions LegacySessionVerifier
	// Verifier checks this service's own access tokens when they are
	// presented to its API.
	Verifier ports.TokenVerifier
	Clock    ports.Clock
	// Tx and Outbox record audit events with the changes they report.
	Tx     ports.Transactor
	Outbox ports.EventOutbox
	// EventsWritten, if set, is called after events are committed to the
	// outbox, to wake the relay.
	EventsWritten func()
}

// Options tune the use cases; zero values take the defaults.
type Options struct {
	Issuer      string        // the "iss" of every token and the RFC 8414 issuer
	Audience    string        // the "aud" of access tokens; default "lattice"
	SessionTTL  time.Duration // default 24h
	AccessTTL   time.Duration // default 15m
	RefreshTTL  time.Duration // default 30 days
	CodeTTL     time.Duration // default 1m
	KeyRotation time.Duration // rotate the signing key this often; default 30 days
	// Throttle is the brute-force policy for password logins; the zero
	// value takes domain.DefaultLoginThrottle.
	Throttle domain.LoginThrottle
	// Sleep waits d or until ctx ends (the throttle's delay); tests replace
	// it to observe the delay without spending it.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Service is the auth core, split by aggregate: each part holds only the
// adapters its use cases need, and Service composes them for the edges,
// which call every use case on it.
type Service struct {
	*Accounts
	*Sessions
	*OAuth
	*SigningKeys
	*Clients
}

// Accounts are users: sign-up, operator-created admins, profiles, the
// user list.
type Accounts struct {
	users  UserRepository
	hasher ports.PasswordHasher
	clock  ports.Clock
	rec    *recorder
	legacy LegacyIDs
}

// Sessions are logins: password checks under the login throttle, browser
// and API sessions, and resolving any bearer credential to a principal.
type Sessions struct {
	users    UserRepository
	sessions SessionStore
	throttle LoginThrottle
	hasher   ports.PasswordHasher
	verifier ports.TokenVerifier
	clock    ports.Clock
	rec      *recorder
	opts     Options
	registry *Clients // API keys are credentials too
	// dummyHash is verified against when an email is unknown, so a login
	// for a missing account costs the same time as one with a wrong
	// password and response timing does not reveal which emails are
	// registered.
	dummyHash string
}

// OAuth is the authorization server: authorization codes, tokens,
// refresh-token families, introspection and revocation.
type OAuth struct {
	clients  ClientRepository
	grants   GrantStore
	users    UserRepository
	verifier ports.TokenVerifier
	clock    ports.Clock
	rec      *recorder
	opts     Options
	keyring  *SigningKeys // signs access tokens
	logins   *Sessions    // sessions are introspected
	registry *Clients     // and so are API keys
	// The token exchange of legacy sessions (nil: not offered).
	legacySessions LegacySessionVerifier
	legacy         LegacyIDs
}

// SigningKeys are the access-token signing keys: the active one (cached),
// rotation, and the published JWKS.
type SigningKeys struct {
	keyStore SigningKeyStore
	signer   TokenSigner
	clock    ports.Clock
	rec      *recorder
	opts     Options
	cache    keyCache
}

// Clients are the OAuth clients and the users' API keys.
type Clients struct {
	clients ClientRepository
	apiKeys APIKeyRepository
	users   UserRepository
	clock   ports.Clock
	rec     *recorder
}

// New returns a Service. It hashes a throwaway password once to build the
// timing decoy.
func New(deps Deps, opts Options) (*Service, error) {
	if opts.SessionTTL == 0 {
		opts.SessionTTL = 24 * time.Hour
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&opts.AccessTTL, 15*time.Minute)
	def(&opts.RefreshTTL, 30*24*time.Hour)
	def(&opts.CodeTTL, time.Minute)
	def(&opts.KeyRotation, 30*24*time.Hour)
	if opts.Audience == "" {
		opts.Audience = "lattice"
	}
	if opts.Throttle == (domain.LoginThrottle{}) {
		opts.Throttle = domain.DefaultLoginThrottle
	}
	if opts.Sleep == nil {
		opts.Sleep = sleep
	}
	dummy, err := deps.Hasher.Hash(context.Background(), randomToken(""))
	if err != nil {
		return nil, err
	}
	rec := &recorder{tx: deps.Tx, outbox: deps.Outbox, clock: deps.Clock, written: deps.EventsWritten}
	clients := &Clients{clients: deps.Clients, apiKeys: deps.APIKeys, users: deps.Users, clock: deps.Clock, rec: rec}
	keys := &SigningKeys{keyStore: deps.Keys, signer: deps.Signer, clock: deps.Clock, rec: rec, opts: opts}
	sessions := &Sessions{users: deps.Users, sessions: deps.Sessions, throttle: deps.Throttle, hasher: deps.Hasher,
		verifier: deps.Verifier, clock: deps.Clock, rec: rec, opts: opts, registry: clients, dummyHash: dummy}
	return &Service{
		Accounts: &Accounts{users: deps.Users, hasher: deps.Hasher, clock: deps.Clock, rec: rec, legacy: deps.LegacyIDs},
		Sessions: sessions,
		OAuth: &OAuth{clients: deps.Clients, grants: deps.Grants, users: deps.Users, verifier: deps.Verifier, clock: deps.Clock, rec: rec, opts: opts, keyring: keys, logins: sessions, registry: clients,
			legacySessions: deps.LegacySessions, legacy: deps.LegacyIDs},
		SigningKeys: keys,
		Clients:     clients,
	}, nil
}

// sleep waits d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// newID returns a time-ordered UUIDv7, so ids sort by creation and keyset
// pagination on the id is creation order.
func newID() string { return uuid.Must(uuid.NewV7()).String() }

// randomToken returns prefix followed by 256 random bits, base64url-encoded.
func randomToken(prefix string) string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}
