package domain_test

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

func challengeOf(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestVerifyPKCE(t *testing.T) {
	t.Parallel()
	// RFC 7636 Appendix B.
	verifier := "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	challenge := "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	require.Equal(t, challenge, challengeOf(verifier))
	require.True(t, domain.VerifyPKCE(verifier, challenge))
	require.True(t, domain.ValidChallenge(challenge))

	require.False(t, domain.VerifyPKCE(verifier+"x", challenge), "wrong verifier")
	require.False(t, domain.VerifyPKCE(verifier, verifier), "plain is not accepted")
	require.False(t, domain.VerifyPKCE("short", challengeOf("short")), "under 43 characters")
	long := strings.Repeat("a", 129)
	require.False(t, domain.VerifyPKCE(long, challengeOf(long)), "over 128 characters")
	bad := strings.Repeat("a", 42) + "+"
	require.False(t, domain.VerifyPKCE(bad, challengeOf(bad)), "outside the unreserved set")
	require.False(t, domain.ValidChallenge("abc"))
}

func TestValidateClient(t *testing.T) {
	t.Parallel()
	ok := domain.Client{Name: "App", Type: domain.ClientConfidential, GrantTypes: []string{domain.GrantAuthorizationCode},
		RedirectURIs: []string{"https://app.example.com/cb", "http://127.0.0.1:9000/cb", "http://localhost/cb", "http://[::1]:8000/cb"}}
	require.NoError(t, domain.ValidateClient(ok))
	for name, mutate := range map[string]func(*domain.Client){
		"no name":               func(c *domain.Client) { c.Name = " " },
		"bad type":              func(c *domain.Client) { c.Type = "other" },
		"implicit grant":        func(c *domain.Client) { c.GrantTypes = []string{"implicit"} },
		"password grant":        func(c *domain.Client) { c.GrantTypes = []string{"password"} },
		"no grants":             func(c *domain.Client) { c.GrantTypes = nil },
		"code without redirect": func(c *domain.Client) { c.RedirectURIs = nil },
		"plain http redirect":   func(c *domain.Client) { c.RedirectURIs = []string{"http://app.example.com/cb"} },
		"fragment in redirect":  func(c *domain.Client) { c.RedirectURIs = []string{"https://app.example.com/cb#x"} },
		"userinfo before a loopback-looking host": func(c *domain.Client) { c.RedirectURIs = []string{"http://localhost@evil.example/cb"} },
		"a host that starts like localhost":       func(c *domain.Client) { c.RedirectURIs = []string{"http://localhost.evil.example/cb"} },
		"a host that starts like 127.0.0.1":       func(c *domain.Client) { c.RedirectURIs = []string{"http://127.0.0.1.evil.example/cb"} },
		"userinfo on https":                       func(c *domain.Client) { c.RedirectURIs = []string{"https://user:pw@app.example.com/cb"} },
		"a relative reference":                    func(c *domain.Client) { c.RedirectURIs = []string{"/cb"} },
		"https without a host":                    func(c *domain.Client) { c.RedirectURIs = []string{"https:///cb"} },
		"public client_credentials": func(c *domain.Client) {
			c.Type = domain.ClientPublic
			c.GrantTypes = []string{domain.GrantClientCredentials}
		},
		"scope with a quote character": func(c *domain.Client) { c.Scopes = []string{`a"b`} },
	} {
		c := ok
		mutate(&c)
		require.True(t, fault.Of(domain.ValidateClient(c), fault.Invalid), name)
	}
}

func TestRedirectURIMatchIsExact(t *testing.T) {
	t.Parallel()
	c := domain.Client{RedirectURIs: []string{"https://app.example.com/cb"}}
	require.True(t, c.HasRedirectURI("https://app.example.com/cb"))
	for _, u := range []string{"https://app.example.com/cb/", "https://app.example.com/cb?x=1", "https://APP.example.com/cb", "https://app.example.com/c"} {
		require.False(t, c.HasRedirectURI(u), u)
	}
}

func TestScopes(t *testing.T) {
	t.Parallel()
	s, err := domain.ParseScope("  a b  a c ")
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b", "c"}, s)
	got, err := domain.GrantScopes(nil, []string{"a", "b"})
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, got, "nothing asked: everything allowed")
	_, err = domain.GrantScopes([]string{"a", "z"}, []string{"a", "b"})
	var oe *domain.OAuthError
	require.ErrorAs(t, err, &oe)
	require.Equal(t, domain.ErrInvalidScope, oe.Code)
	require.Equal(t, []string{"b"}, domain.Intersect([]string{"z", "b"}, []string{"a", "b"}))
}

func TestClientSecret(t *testing.T) {
	t.Parallel()
	c := domain.Client{Type: domain.ClientConfidential, SecretHash: domain.HashToken("s3cret")}
	require.True(t, c.CheckSecret("s3cret"))
	require.False(t, c.CheckSecret("s3cret "))
	pub := domain.Client{Type: domain.ClientPublic}
	require.False(t, pub.CheckSecret(""))
}
