// Package tokenverify is how every Lattice service and the gateway check a
// bearer credential, as OAuth resource servers: access tokens (EdDSA JWTs)
// are verified locally against the auth service's JWKS, fetched and cached,
// and fetched again when a token names an unknown key (so a freshly rotated
// key is accepted at once) at most once per interval; API keys are checked
// through RFC 7662 introspection with a short-lived cache. It implements
// ports.TokenVerifier, so cores only ever see a ports.Identity.
package tokenverify

import (
	"context"
	"crypto/ed25519"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"
	"golang.org/x/sync/singleflight"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/ports"
)

// Keys maps a key id to its Ed25519 public key.
type Keys map[string]ed25519.PublicKey

// KeyFetcher returns the authority's current verification keys.
type KeyFetcher func(ctx context.Context) (Keys, error)

// Config configures a Verifier. Issuer, Audience and Fetch are required.
type Config struct {
	Issuer   string
	Audience string
	Fetch    KeyFetcher
	// Introspect checks API keys; without it API keys are rejected.
	Introspect *Introspector
	// MinRefetch is the least time between two JWKS fetches caused by
	// unknown key ids (default 10s), so a flood of forged kids cannot hammer
	// the authority.
	MinRefetch time.Duration
	// MaxAge refreshes the cached JWKS on use after this long (default 5m).
	MaxAge time.Duration
	// Leeway tolerates clock skew on exp/nbf/iat (default 30s).
	Leeway time.Duration
	// FetchTimeout bounds one JWKS fetch (default 10s). The fetch is
	// shared by every request waiting for it, so it runs on its own
	// deadline, not on the first caller's context.
	FetchTimeout time.Duration
	// CacheSize bounds the cache of already-verified access tokens
	// (default 10000; negative disables it). A hit costs a map lookup by
	// the token's signature and a comparison of the whole token, instead
	// of a signature check and a JWT parse.
	CacheSize int
	Now       func() time.Time
}

// Verifier implements ports.TokenVerifier.
type Verifier struct {
	cfg Config
	sf  singleflight.Group
	// verified is keyed by the signature segment, which differs between
	// any two tokens auth signs, and is cheaper to hash than the whole
	// token (a SHA-256 of it was 0.8 % of the gateway's CPU). A hit counts
	// only when the whole token matches: a forged token that reuses a
	// cached signature with other claims is verified, and refused.
	verified *expirable.LRU[string, verifiedToken] // nil when disabled

	mu        sync.RWMutex
	keys      Keys
	fetchedAt time.Time
	// lastUnknown is when an unknown kid last caused a fetch; it, not
	// fetchedAt, rate-limits such fetches, so the first token signed with
	// a just-rotated key triggers one at once however recently the set
	// was fetched.
	lastUnknown time.Time
}

var _ ports.TokenVerifier = (*Verifier)(nil)

// New returns a Verifier; keys are fetched on first use.
func New(cfg Config) *Verifier {
	if cfg.MinRefetch == 0 {
		cfg.MinRefetch = 10 * time.Second
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = 5 * time.Minute
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.FetchTimeout == 0 {
		cfg.FetchTimeout = 10 * time.Second
	}
	v := &Verifier{cfg: cfg}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = 10000
	}
	if cfg.CacheSize > 0 {
		// Entries also expire with their token (checked on every hit); the
		// TTL bounds how long a cached answer outlives a key's removal.
		v.verified = expirable.NewLRU[string, verifiedToken](cfg.CacheSize, nil, time.Minute)
	}
	return v
}

var (
	errBadToken    = fault.New(fault.Unauthenticated, "the access token is invalid or expired")
	errUnsupported = fault.New(fault.Unauthenticated, "this credential is not accepted here")
)

// jwsSignature is the third of a compact JWS's three dot-separated parts,
// found forwards: the runtime's IndexByte is vectorised, its LastIndexByte
// is a byte-at-a-time loop, which over a token's 86-character signature
// was 0.8 % of the gateway's instructions (bench/gateway -callgrind).
func jwsSignature(token string) (string, bool) {
	i := strings.IndexByte(token, '.')
	if i < 0 {
		return "", false
	}
	j := strings.IndexByte(token[i+1:], '.')
	if j < 0 {
		return "", false
	}
	signature := token[i+1+j+1:]
	return signature, strings.IndexByte(signature, '.') < 0
}

// Verify checks bearer and returns its identity.
func (v *Verifier) Verify(ctx context.Context, bearer string) (ports.Identity, error) {
	switch {
	case strings.HasPrefix(bearer, "ltk_"), strings.HasPrefix(bearer, "lts_"):
		// Opaque credentials (API keys, login sessions) are known only to
		// auth: ask it.
		if v.cfg.Introspect == nil {
			return ports.Identity{}, errUnsupported
		}
		return v.cfg.Introspect.Verify(ctx, bearer)
	}
	signature, ok := jwsSignature(bearer)
	if !ok {
		return ports.Identity{}, errBadToken
	}
	if v.verified != nil {
		if hit, ok := v.verified.Get(signature); ok && hit.token == bearer && v.cfg.Now().Before(hit.id.ExpiresAt.Add(v.cfg.Leeway)) {
			return hit.id, nil
		}
	}
	id, err := v.verifyJWT(ctx, bearer)
	if err == nil && v.verified != nil {
		// The cache keeps its own copy: a caller may lend bearer from a
		// buffer it reuses (ports.TokenVerifier).
		kept := strings.Clone(bearer)
		v.verified.Add(kept[len(kept)-len(signature):], verifiedToken{token: kept, id: id})
	}
	return id, err
}

// verifiedToken is a cached token and the identity it verified as.
type verifiedToken struct {
	token string
	id    ports.Identity
}

// verifyJWT checks signature and claims. jwx checks the signature, by its
// compact-JWS fast path (which also refuses "crit" and "b64", and an alg
// other than EdDSA); the header and claims are read with fastjson, by
// rules of our own that match jwx's jwt.Validate (ADR 0053): jwt.Parse
// cost 20 µs and 247 allocations a token beyond the Ed25519 check itself.
func (v *Verifier) verifyJWT(ctx context.Context, bearer string) (ports.Identity, error) {
	if len(bearer) > maxTokenBytes {
		return ports.Identity{}, errBadToken
	}
	h, ok := parseHeader(bearer[:strings.IndexByte(bearer, '.')])
	if !ok {
		return ports.Identity{}, errBadToken
	}
	pub, err := v.key(ctx, h.kid)
	if err != nil {
		return ports.Identity{}, err
	}
	payload, err := jws.VerifyCompactFast(pub, []byte(bearer), jwa.EdDSA())
	if err != nil {
		return ports.Identity{}, errBadToken
	}
	rules := claimRules{issuer: v.cfg.Issuer, audience: v.cfg.Audience, leeway: v.cfg.Leeway, now: v.cfg.Now()}
	id, ok := rules.identity(payload)
	if !ok {
		return ports.Identity{}, errBadToken
	}
	return id, nil
}

// key returns the public key for kid, fetching the key set when it is
// stale or does not know kid (rate-limited by MinRefetch).
func (v *Verifier) key(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	now := v.cfg.Now()
	v.mu.Lock()
	pub, known := v.keys[kid]
	age := now.Sub(v.fetchedAt)
	switch {
	case known && age < v.cfg.MaxAge:
		v.mu.Unlock()
		return pub, nil
	case !known && !v.fetchedAt.IsZero() && now.Sub(v.lastUnknown) < v.cfg.MinRefetch:
		v.mu.Unlock()
		return nil, errBadToken
	case !known && !v.fetchedAt.IsZero(): // the first load is not an unknown-kid fetch
		v.lastUnknown = now
	}
	v.mu.Unlock()
	keys, err := v.refresh(ctx)
	if err != nil {
		if known { // keep serving with the key we have while the authority is away
			return pub, nil
		}
		return nil, err
	}
	if pub, ok := keys[kid]; ok {
		return pub, nil
	}
	return nil, errBadToken
}

// refresh fetches the key set once for every request that needs it. A
// caller that gives up (a client disconnecting) stops waiting, but the
// fetch goes on for the others: it keeps the first caller's values (its
// trace) and drops its cancellation.
func (v *Verifier) refresh(ctx context.Context) (Keys, error) {
	ch := v.sf.DoChan("jwks", func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), v.cfg.FetchTimeout)
		defer cancel()
		keys, err := v.cfg.Fetch(fctx)
		v.mu.Lock()
		defer v.mu.Unlock()
		// A failed fetch also counts, so an unreachable authority is not
		// retried on every request.
		v.fetchedAt = v.cfg.Now()
		if err != nil {
			return nil, err
		}
		v.keys = keys
		return keys, nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, fault.Wrap(fault.Unavailable, "the token authority's keys are unavailable", res.Err)
		}
		return res.Val.(Keys), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
