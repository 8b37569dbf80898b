package tokenverify_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/jose"
	"github.com/lattice-platform/lattice/pkg/adapters/tokenverify"
	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

// authority is a fake token issuer serving a JWKS over HTTP and counting
// fetches.
type authority struct {
	mu      sync.Mutex
	keys    []domain.SigningKey
	fetches atomic.Int32
	signer  *jose.Signer
	srv     *httptest.Server
}

func newAuthority(t testing.TB) *authority {
	a := &authority{signer: jose.NewSigner()}
	a.rotate("k1")
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		a.fetches.Add(1)
		a.mu.Lock()
		b, err := jose.JWKS(a.keys)
		a.mu.Unlock()
		require.NoError(t, err)
		_, _ = w.Write(b)
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *authority) rotate(kid string) domain.SigningKey {
	seed := make([]byte, ed25519.SeedSize)
	copy(seed, kid)
	k := domain.SigningKey{ID: kid, Private: ed25519.NewKeyFromSeed(seed), CreatedAt: time.Now()}
	a.mu.Lock()
	a.keys = append([]domain.SigningKey{k}, a.keys...)
	a.mu.Unlock()
	return k
}

func (a *authority) token(t testing.TB, k domain.SigningKey, mutate func(*domain.AccessClaims)) string {
	now := time.Now()
	c := domain.AccessClaims{Issuer: "https://auth.test", Subject: "user-1", Audience: []string{"lattice"},
		IssuedAt: now, ExpiresAt: now.Add(15 * time.Minute), ID: "jti-1", Scopes: []string{"a", "b"}, ClientID: "app"}
	if mutate != nil {
		mutate(&c)
	}
	tok, err := a.signer.Sign(c, k)
	require.NoError(t, err)
	return tok
}

// forged is good with the claims of a token for subject in its place and
// good's signature kept.
func (a *authority) forged(t testing.TB, good, subject string) string {
	other := a.token(t, a.keys[0], func(c *domain.AccessClaims) { c.Subject = subject })
	parts, otherParts := strings.Split(good, "."), strings.Split(other, ".")
	return parts[0] + "." + otherParts[1] + "." + parts[2]
}

func (a *authority) verifier(minRefetch time.Duration) *tokenverify.Verifier {
	return tokenverify.New(tokenverify.Config{Issuer: "https://auth.test", Audience: "lattice",
		Fetch: tokenverify.FetchJWKS(a.srv.URL, a.srv.Client()), MinRefetch: minRefetch})
}

func TestVerifyAccessToken(t *testing.T) {
	t.Parallel()
	a := newAuthority(t)
	v := a.verifier(time.Hour)
	id, err := v.Verify(context.Background(), a.token(t, a.keys[0], nil))
	require.NoError(t, err)
	require.Equal(t, ports.Identity{Kind: ports.CredentialAccessToken, Subject: "user-1", ClientID: "app",
		Scopes: []string{"a", "b"}, ExpiresAt: id.ExpiresAt, TokenID: "jti-1"}, id)
	require.True(t, id.HasScope("b"))
}

func TestVerifyRejects(t *testing.T) {
	t.Parallel()
	a := newAuthority(t)
	v := a.verifier(time.Hour)
	k := a.keys[0]
	for name, mutate := range map[string]func(*domain.AccessClaims){
		"wrong issuer":   func(c *domain.AccessClaims) { c.Issuer = "https://evil.test" },
		"wrong audience": func(c *domain.AccessClaims) { c.Audience = []string{"billing"} },
		"expired":        func(c *domain.AccessClaims) { c.ExpiresAt = time.Now().Add(-time.Minute) },
		"not yet valid":  func(c *domain.AccessClaims) { c.IssuedAt = time.Now().Add(time.Hour) },
	} {
		_, err := v.Verify(context.Background(), a.token(t, k, mutate))
		require.True(t, fault.Of(err, fault.Unauthenticated), "%s: %v", name, err)
	}
	good := a.token(t, k, nil)
	for _, tok := range []string{"", "x", "a.b", "a.b.c", "a.b.c.d", "..", "...", "ltk_x", "lts_x", good + ".", good + ".x", good[:strings.LastIndexByte(good, '.')]} {
		_, err := v.Verify(context.Background(), tok)
		require.True(t, fault.Of(err, fault.Unauthenticated), tok)
	}
}

// TestJWSSignature: the third part of exactly three, whatever the parts'
// lengths.
func TestJWSSignature(t *testing.T) {
	t.Parallel()
	for tok, want := range map[string]string{"a.b.c": "c", "..": "", "hdr.payload.": "", ".p.sig": "sig", "h..s": "s"} {
		got, ok := tokenverify.JWSSignature(tok)
		require.True(t, ok, tok)
		require.Equal(t, want, got, tok)
	}
	for _, tok := range []string{"", "abc", "a.b", "a.b.c.d", "...", "a.b.c."} {
		_, ok := tokenverify.JWSSignature(tok)
		require.False(t, ok, tok)
	}
}

func TestUnknownKidRefetchesOnceAndIsRateLimited(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newAuthority(t)
	v := a.verifier(time.Hour)
	_, err := v.Verify(ctx, a.token(t, a.keys[0], nil))
	require.NoError(t, err)
	require.EqualValues(t, 1, a.fetches.Load())

	// A token signed with a key rotated in just now is accepted at once:
	// the first unknown kid triggers a fetch even right after the last one.
	k2 := a.rotate("k2")
	_, err = v.Verify(ctx, a.token(t, k2, nil))
	require.NoError(t, err)
	require.EqualValues(t, 2, a.fetches.Load())

	// Further unknown kids within MinRefetch cannot trigger fetches.
	for i := range 20 {
		forged := domain.SigningKey{ID: "forged-" + strconv.Itoa(i), Private: ed25519.NewKeyFromSeed(make([]byte, 32))}
		_, err := v.Verify(ctx, a.token(t, forged, nil))
		require.Error(t, err)
	}
	require.EqualValues(t, 2, a.fetches.Load())
}

func TestAuthorityDownKeepsKnownKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newAuthority(t)
	v := tokenverify.New(tokenverify.Config{Issuer: "https://auth.test", Audience: "lattice",
		Fetch: tokenverify.FetchJWKS(a.srv.URL, a.srv.Client()), MinRefetch: time.Nanosecond, MaxAge: time.Nanosecond})
	tok := a.token(t, a.keys[0], nil)
	_, err := v.Verify(ctx, tok)
	require.NoError(t, err)
	a.srv.Close()
	_, err = v.Verify(ctx, tok)
	require.NoError(t, err, "a known key keeps working while the authority is away")
	_, err = v.Verify(ctx, a.token(t, a.rotate("k3"), nil))
	require.True(t, fault.Of(err, fault.Unavailable), "an unknown key cannot be checked: %v", err)
}

func TestIntrospectionIsCached(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var calls atomic.Int32
	var active atomic.Bool
	active.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		id, secret, ok := r.BasicAuth()
		if !ok || id != "gateway" || secret != "s3cret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		require.NoError(t, r.ParseForm())
		if !active.Load() || (r.PostForm.Get("token") != "ltk_good" && r.PostForm.Get("token") != "lts_good") {
			_ = json.NewEncoder(w).Encode(map[string]any{"active": false})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"active": true, "sub": "user-9", "scope": "resources:read", "token_type": "api_key", "jti": "key-1"})
	}))
	t.Cleanup(srv.Close)
	in := tokenverify.NewIntrospector(srv.URL, "gateway", "s3cret", srv.Client(), time.Hour)
	v := tokenverify.New(tokenverify.Config{Issuer: "x", Audience: "y", Introspect: in,
		Fetch: func(context.Context) (tokenverify.Keys, error) { return nil, nil }})

	for range 5 {
		id, err := v.Verify(ctx, "ltk_good")
		require.NoError(t, err)
		require.Equal(t, ports.CredentialAPIKey, id.Kind)
		require.Equal(t, "user-9", id.Subject)
		require.Equal(t, []string{"resources:read"}, id.Scopes)
	}
	require.EqualValues(t, 1, calls.Load(), "answers are cached")
	session, err := v.Verify(ctx, "lts_good")
	require.NoError(t, err)
	require.Equal(t, ports.CredentialSession, session.Kind, "login sessions are introspected too")
	_, err = v.Verify(ctx, "ltk_bad")
	require.True(t, fault.Of(err, fault.Unauthenticated))

	wrongCreds := tokenverify.NewIntrospector(srv.URL, "gateway", "nope", srv.Client(), time.Hour)
	_, err = wrongCreds.Verify(ctx, "ltk_good")
	require.True(t, fault.Of(err, fault.Unavailable), "a refused introspection is not the caller's fault")
}

// BenchmarkVerifyAccessToken measures a full check (signature and
// claims: a token seen for the first time) and a repeat (served from the
// verified-token cache).
func BenchmarkVerifyAccessToken(b *testing.B) {
	for _, bc := range []struct {
		name      string
		cacheSize int
	}{{"first-sight", -1}, {"repeat", 0}} {
		b.Run(bc.name, func(b *testing.B) {
			a := newAuthority(b)
			v := tokenverify.New(tokenverify.Config{Issuer: "https://auth.test", Audience: "lattice",
				Fetch: tokenverify.FetchJWKS(a.srv.URL, a.srv.Client()), CacheSize: bc.cacheSize})
			tok := a.token(b, a.keys[0], nil)
			ctx := context.Background()
			if _, err := v.Verify(ctx, tok); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A client that disconnects while the key set is being fetched for it must
// not cancel the fetch that other requests are waiting on.
func TestAbandonedRequestDoesNotCancelTheSharedFetch(t *testing.T) {
	t.Parallel()
	a := newAuthority(t)
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	var calls atomic.Int32
	fetchJWKS := tokenverify.FetchJWKS(a.srv.URL, a.srv.Client())
	v := tokenverify.New(tokenverify.Config{Issuer: "https://auth.test", Audience: "lattice", FetchTimeout: 10 * time.Second,
		Fetch: func(ctx context.Context) (tokenverify.Keys, error) {
			calls.Add(1)
			once.Do(func() { close(started) })
			select {
			case <-release:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			return fetchJWKS(ctx)
		}})
	tok := a.token(t, a.keys[0], nil)

	first, hangUp := context.WithCancel(context.Background())
	firstErr := make(chan error, 1)
	go func() { _, err := v.Verify(first, tok); firstErr <- err }()
	<-started
	secondErr := make(chan error, 1)
	go func() { _, err := v.Verify(context.Background(), tok); secondErr <- err }()
	hangUp()
	require.ErrorIs(t, <-firstErr, context.Canceled, "the caller that left stops waiting")
	close(release)
	require.NoError(t, <-secondErr, "the one still waiting gets the keys")
	require.EqualValues(t, 1, calls.Load(), "from the one fetch, which nobody cancelled")
}

// The cache finds a token by its signature; a forged token that carries a
// cached token's signature under other claims must still be refused.
func TestCachedSignatureUnderOtherClaimsIsRefused(t *testing.T) {
	t.Parallel()
	a := newAuthority(t)
	v := a.verifier(time.Hour)
	ctx := context.Background()
	good := a.token(t, a.keys[0], nil)
	id, err := v.Verify(ctx, good)
	require.NoError(t, err)
	require.Equal(t, "user-1", id.Subject)

	forged := a.forged(t, good, "admin")
	_, err = v.Verify(ctx, forged)
	require.True(t, fault.Of(err, fault.Unauthenticated), "a cached signature vouches only for its own token: %v", err)

	id, err = v.Verify(ctx, good)
	require.NoError(t, err, "the forged token did not evict the good one")
	require.Equal(t, "user-1", id.Subject)
}

// TestAnAnswerPastItsTimeIsAskedAgain: an active answer whose time has
// passed while the cache still holds it (the cache expires entries a
// moment after their time) is asked again, not answered 401.
func TestAnAnswerPastItsTimeIsAskedAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		_ = json.NewEncoder(w).Encode(map[string]any{"active": true, "sub": "user-9", "scope": "resources:read"})
	}))
	t.Cleanup(srv.Close)
	in := tokenverify.NewIntrospector(srv.URL, "gateway", "s3cret", srv.Client(), time.Minute)
	now := time.Now()
	tokenverify.SetIntrospectorClock(in, func() time.Time { return now })

	_, err := in.Verify(ctx, "lts_good")
	require.NoError(t, err)
	now = now.Add(time.Minute) // the answer's time is up; the cache, on the real clock, still has it
	id, err := in.Verify(ctx, "lts_good")
	require.NoError(t, err, "a valid session refused because its cached answer was past its time")
	require.Equal(t, "user-9", id.Subject)
	require.EqualValues(t, 2, calls.Load(), "asked again")
}

// TestALentTokenIsCopiedIntoTheCache: the gateway lends the token from
// the request's buffer, which the next request overwrites. The cache
// keeps its own copy, so what the buffer holds next is judged on its own.
func TestALentTokenIsCopiedIntoTheCache(t *testing.T) {
	t.Parallel()
	a := newAuthority(t)
	v := a.verifier(time.Hour)
	ctx := context.Background()
	good := a.token(t, a.keys[0], nil)
	forged := a.forged(t, good, "user-2")
	require.Len(t, forged, len(good), "the forged token fits the good one's buffer")

	buf := []byte(good)
	lent := unsafe.String(unsafe.SliceData(buf), len(buf))
	id, err := v.Verify(ctx, lent)
	require.NoError(t, err)
	require.Equal(t, "user-1", id.Subject)

	copy(buf, forged) // the next request's header, in the same buffer
	_, err = v.Verify(ctx, lent)
	require.True(t, fault.Of(err, fault.Unauthenticated), "a forged token in the lent buffer passed: %v", err)
	id, err = v.Verify(ctx, good)
	require.NoError(t, err)
	require.Equal(t, "user-1", id.Subject)
}
