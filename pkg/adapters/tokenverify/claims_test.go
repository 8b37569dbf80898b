package tokenverify_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwt"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/tokenverify"
	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/ports"
)

// claimsNow is the fixed time the claim tests verify at.
var claimsNow = time.Unix(1_800_000_000, 0)

// goodHeader is the protected header auth signs with.
const goodHeader = `{"alg":"EdDSA","kid":"k1","typ":"at+jwt"}`

// goodClaims are auth's claims at claimsNow, in its order.
var goodClaims = [][2]string{{"iss", `"https://auth.test"`}, {"sub", `"user-1"`}, {"aud", `["lattice"]`},
	{"iat", "1800000000"}, {"nbf", "1800000000"}, {"exp", "1800000900"}, {"jti", `"jti-1"`},
	{"scope", `"a b"`}, {"client_id", `"app"`}}

// claimsWith are goodClaims with each of changes, a name and its JSON
// value as `"name":value`, in place of the claim of that name or after
// the rest; a change with no value leaves the claim out.
func claimsWith(changes ...string) string {
	claims := slices.Clone(goodClaims)
	for _, c := range changes {
		name, value, _ := strings.Cut(c, ":")
		name = strings.Trim(name, `"`)
		i := slices.IndexFunc(claims, func(kv [2]string) bool { return kv[0] == name })
		switch {
		case i >= 0 && value == "":
			claims = slices.Delete(claims, i, i+1)
		case i >= 0:
			claims[i][1] = value
		default:
			claims = append(claims, [2]string{name, value})
		}
	}
	var b strings.Builder
	for i, kv := range claims {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%s", kv[0], kv[1])
	}
	return "{" + b.String() + "}"
}

// signRaw is a compact JWS of header and payload as given, signed by a's
// current key: what a token with any header or claims would be if auth's
// key had signed it.
func (a *authority) signRaw(header, payload string) string {
	enc := base64.RawURLEncoding
	input := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	return input + "." + enc.EncodeToString(ed25519.Sign(a.keys[0].Private, []byte(input)))
}

// fixedVerifier checks tokens at claimsNow, without the verified-token
// cache, so each check reads its token's claims. Its keys are a's, handed
// over without HTTP: the fetch is not what these tests are about, and the
// JWKS server's checks cannot run inside a fuzz target.
func (a *authority) fixedVerifier() *tokenverify.Verifier {
	keys := tokenverify.Keys{}
	for _, k := range a.keys {
		keys[k.ID] = k.Public()
	}
	return tokenverify.New(tokenverify.Config{Issuer: "https://auth.test", Audience: "lattice",
		Fetch:      func(context.Context) (tokenverify.Keys, error) { return keys, nil },
		MinRefetch: time.Hour, CacheSize: -1, Now: func() time.Time { return claimsNow }})
}

// TestHeaderRules: only an EdDSA access token with a key id is read, and
// none of the JWS extensions that change what a signature covers.
func TestHeaderRules(t *testing.T) {
	t.Parallel()
	a := newAuthority(t)
	v := a.fixedVerifier()
	claims := claimsWith()
	for _, header := range []string{goodHeader, `{"typ":"AT+JWT","kid":"k1","alg":"EdDSA"}`, `{"alg":"EdDSA","kid":"k1","typ":"application/at+jwt"}`} {
		id, err := v.Verify(context.Background(), a.signRaw(header, claims))
		require.NoError(t, err, header)
		require.Equal(t, "user-1", id.Subject)
	}
	for name, header := range map[string]string{
		"alg none":            `{"alg":"none","kid":"k1","typ":"at+jwt"}`,
		"alg HS256":           `{"alg":"HS256","kid":"k1","typ":"at+jwt"}`,
		"alg missing":         `{"kid":"k1","typ":"at+jwt"}`,
		"alg not a string":    `{"alg":1,"kid":"k1","typ":"at+jwt"}`,
		"kid missing":         `{"alg":"EdDSA","typ":"at+jwt"}`,
		"kid empty":           `{"alg":"EdDSA","kid":"","typ":"at+jwt"}`,
		"kid unknown":         `{"alg":"EdDSA","kid":"k9","typ":"at+jwt"}`,
		"typ missing":         `{"alg":"EdDSA","kid":"k1"}`,
		"typ of an ID token":  `{"alg":"EdDSA","kid":"k1","typ":"JWT"}`,
		"crit":                `{"alg":"EdDSA","kid":"k1","typ":"at+jwt","crit":["exp"],"exp":1}`,
		"b64 false":           `{"alg":"EdDSA","kid":"k1","typ":"at+jwt","b64":false}`,
		"not JSON":            `{"alg":"EdDSA","kid":"k1","typ":"at+jwt"`,
		"an array":            `["EdDSA"]`,
		"longer than a limit": `{"alg":"EdDSA","kid":"k1","typ":"at+jwt","x":"` + strings.Repeat("x", 1024) + `"}`,
	} {
		_, err := v.Verify(context.Background(), a.signRaw(header, claims))
		require.True(t, fault.Of(err, fault.Unauthenticated), "%s: %v", name, err)
	}
}

// TestClaimRules: what a signed token's claims must say, at claimsNow
// with the default 30 s leeway.
func TestClaimRules(t *testing.T) {
	t.Parallel()
	a := newAuthority(t)
	v := a.fixedVerifier()
	check := func(claims string) (ports.Identity, error) {
		return v.Verify(context.Background(), a.signRaw(goodHeader, claims))
	}
	id, err := check(claimsWith())
	require.NoError(t, err)
	require.Equal(t, ports.Identity{Kind: ports.CredentialAccessToken, Subject: "user-1", ClientID: "app",
		Scopes: []string{"a", "b"}, ExpiresAt: time.Unix(1800000900, 0).UTC(), TokenID: "jti-1"}, id)

	for name, claims := range map[string]string{
		"aud a string":                 `{"iss":"https://auth.test","sub":"u","aud":"lattice","exp":1800000900}`,
		"aud among others":             `{"iss":"https://auth.test","sub":"u","aud":["billing","lattice"],"exp":1800000900}`,
		"only the required claims":     `{"iss":"https://auth.test","sub":"u","aud":"lattice","exp":1800000900}`,
		"expired within the leeway":    claimsWith(`"exp":1799999971`),
		"issued within the leeway":     claimsWith(`"iat":1800000030`),
		"valid within the leeway":      claimsWith(`"nbf":1800000030`),
		"a fractional exp":             claimsWith(`"exp":1800000900.75`),
		"a claim of no meaning to us":  claimsWith(`"extra":{"deep":[1,2,{"x":null}]}`),
		"an exp in exponent notation":  claimsWith(`"exp":1.8000009e9`),
		"escapes in a string claim":    claimsWith(`"sub":"user\u002d1"`),
		"a later iat than nbf and exp": claimsWith(`"iat":1800000001`),
	} {
		_, err := check(claims)
		require.NoError(t, err, name)
	}

	// The limit on a token's size is 8 KiB: one just under it is read.
	long := a.signRaw(goodHeader, claimsWith(`"pad":"`+strings.Repeat("p", 5800)+`"`))
	require.Greater(t, len(long), 8000)
	require.LessOrEqual(t, len(long), 8<<10)
	_, err = v.Verify(context.Background(), long)
	require.NoError(t, err, "a token of %d bytes", len(long))

	for name, claims := range map[string]string{
		"expired":                   claimsWith(`"exp":1799999970`),
		"exp missing":               claimsWith(`"exp"`),
		"exp a string":              claimsWith(`"exp":"1800000900"`),
		"exp negative":              claimsWith(`"exp":-1`),
		"exp past the year 2500":    claimsWith(`"exp":1e300`),
		"exp zero":                  claimsWith(`"exp":0`),
		"issued in the future":      claimsWith(`"iat":1800000031`),
		"not yet valid":             claimsWith(`"nbf":1800000031`),
		"nbf not a number":          claimsWith(`"nbf":true`),
		"wrong issuer":              claimsWith(`"iss":"https://evil.test"`),
		"issuer missing":            claimsWith(`"iss"`),
		"issuer not a string":       claimsWith(`"iss":["https://auth.test"]`),
		"wrong audience":            claimsWith(`"aud":["billing"]`),
		"audience a prefix":         claimsWith(`"aud":"lattic"`),
		"audience missing":          claimsWith(`"aud"`),
		"audience empty":            claimsWith(`"aud":[]`),
		"audience holding a number": claimsWith(`"aud":["lattice",1]`),
		"audience an object":        claimsWith(`"aud":{"lattice":true}`),
		"sub missing":               claimsWith(`"sub"`),
		"a claim read twice":        strings.TrimSuffix(claimsWith(), "}") + `,"sub":"admin"}`,
		"sub empty":                 claimsWith(`"sub":""`),
		"sub a number":              claimsWith(`"sub":1`),
		"scope not a string":        claimsWith(`"scope":["a","b"]`),
		"client_id not a string":    claimsWith(`"client_id":{}`),
		"jti not a string":          claimsWith(`"jti":7`),
		"an array":                  `[1800000900]`,
		"not JSON":                  `{"iss":"https://auth.test"`,
		"JSON and more":             claimsWith() + `{}`,
		"a string":                  `"sub"`,
		"nothing":                   ``,
		"null":                      `null`,
		"a token over 8 KiB":        claimsWith(`"pad":"` + strings.Repeat("p", 8<<10) + `"`),
	} {
		_, err := check(claims)
		require.True(t, fault.Of(err, fault.Unauthenticated), "%s: %v", name, err)
	}
}

// FuzzClaimsAgreeWithJWX: a token the verifier accepts is one jwx's full
// jwt.Parse, with the options the verifier used to give it, accepts too,
// with the same identity. The verifier may refuse more (a typed claim of
// another type, an empty sub, a date past 2500), never less.
func FuzzClaimsAgreeWithJWX(f *testing.F) {
	for _, seed := range []string{
		claimsWith(),
		`{"iss":"https://auth.test","sub":"u","aud":"lattice","exp":1800000900}`,
		`{"iss":"https://auth.test","sub":"u","aud":"lattice","exp":1800000900.9,"nbf":1800000030.5}`,
		`{"iss":"https://auth.test","sub":"u","aud":["x","lattice"],"exp":1799999971,"iat":1800000030}`,
		`{"iss":"https://auth.test","sub":"u","aud":"lattice","exp":1799999970}`,
		`{"iss":"https://auth.test","sub":"u","aud":"lattice","exp":"1800000900"}`,
		`{"iss":"https://auth.test","sub":"","aud":"lattice","exp":1800000900}`,
		`{"iss":"https://auth.test","sub":"u","aud":"lattice","exp":1800000900,"scope":7}`,
		`{"iss":"https://auth.test","sub":"u","sub":"v","aud":"lattice","exp":1800000900}`,
		`{"iss":"https://auth.test","sub":"u\u0000","aud":"lattice","exp":1e10}`,
	} {
		f.Add(seed)
	}
	a := newAuthority(f)
	v := a.fixedVerifier()
	pub := a.keys[0].Public()
	f.Fuzz(func(t *testing.T, claims string) {
		token := a.signRaw(goodHeader, claims)
		id, err := v.Verify(context.Background(), token)
		if err != nil {
			require.True(t, fault.Of(err, fault.Unauthenticated), "%v", err)
			return
		}
		tok, err := jwt.Parse([]byte(token), jwt.WithKey(jwa.EdDSA(), pub), jwt.WithValidate(true),
			jwt.WithIssuer("https://auth.test"), jwt.WithAudience("lattice"), jwt.WithAcceptableSkew(30*time.Second),
			jwt.WithClock(jwt.ClockFunc(func() time.Time { return claimsNow })),
			jwt.WithRequiredClaim("exp"), jwt.WithRequiredClaim("sub"))
		require.NoError(t, err, "the verifier accepted what jwx refuses: %s", claims)
		sub, _ := tok.Subject()
		exp, _ := tok.Expiration()
		jti, _ := tok.JwtID()
		var scope, clientID string
		_ = tok.Get("scope", &scope)
		_ = tok.Get("client_id", &clientID)
		// The verifier keeps whole seconds of a fractional exp, as it
		// compares them.
		require.Equal(t, ports.Identity{Kind: ports.CredentialAccessToken, Subject: sub, ExpiresAt: exp.Truncate(time.Second),
			TokenID: jti, ClientID: clientID, Scopes: strings.Fields(scope)}, id, claims)
	})
}
