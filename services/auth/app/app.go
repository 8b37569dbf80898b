// Package app holds the auth service's use cases: sign-up, login, session
// management and resolving a bearer credential to a principal. It depends
// only on the domain and on pkg/ports interfaces; the HTTP edge calls it and
// the wiring hands it adapters.
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

// Service runs the auth use cases.
type Service struct {
	deps Deps
	opts Options
	// dummyHash is verified against when an email is unknown, so a login for
	// a missing account costs the same time as one with a wrong password and
	// response timing does not reveal which emails are registered.
	dummyHash string
	keys      keyCache
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
	return &Service{deps: deps, opts: opts, dummyHash: dummy}, nil
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
