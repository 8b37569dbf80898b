package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

func TestNormalizeEmail(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"ada@example.com", "ada@example.com", true},
		{"  Ada@Example.COM ", "ada@example.com", true},
		{"ada.lovelace+lattice@sub.example.org", "ada.lovelace+lattice@sub.example.org", true},
		{"", "", false},
		{"ada", "", false},
		{"ada@localhost", "", false},
		{"Ada <ada@example.com>", "", false},
		{"ada@@example.com", "", false},
		{strings.Repeat("a", 250) + "@example.com", "", false},
	} {
		got, err := domain.NormalizeEmail(tc.in)
		if !tc.ok {
			require.True(t, fault.Of(err, fault.Invalid), "%q: want Invalid, got %v", tc.in, err)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got)
	}
}

func TestCheckPassword(t *testing.T) {
	t.Parallel()
	require.Error(t, domain.CheckPassword("short"))
	require.Error(t, domain.CheckPassword("ééééééééééé"), "11 runes is too short even at 22 bytes")
	require.NoError(t, domain.CheckPassword("twelve chars"))
	require.NoError(t, domain.CheckPassword("ééééééééééééé"))
	require.Error(t, domain.CheckPassword(strings.Repeat("x", 257)))
}

func TestCleanDisplayName(t *testing.T) {
	t.Parallel()
	got, err := domain.CleanDisplayName("  Ada Lovelace ")
	require.NoError(t, err)
	require.Equal(t, "Ada Lovelace", got)
	_, err = domain.CleanDisplayName("   ")
	require.Error(t, err)
	_, err = domain.CleanDisplayName(strings.Repeat("é", 101))
	require.Error(t, err)
}

func TestTruncateKeepsUTF8Whole(t *testing.T) {
	t.Parallel()
	require.Equal(t, "ab", domain.Truncate("abc", 2))
	require.Equal(t, "a", domain.Truncate("aé", 2), "must not split the two-byte é")
	require.Equal(t, "short", domain.Truncate("short", 10))
}

func TestPrincipalScopes(t *testing.T) {
	t.Parallel()
	user := domain.Principal{Scopes: domain.RoleScopes(domain.RoleUser)}
	admin := domain.Principal{Scopes: domain.RoleScopes(domain.RoleAdmin)}
	require.NoError(t, admin.Require(domain.ScopeUsersAdmin))
	err := user.Require(domain.ScopeUsersAdmin, "users:read")
	require.True(t, fault.Of(err, fault.Forbidden))
	require.Contains(t, err.Error(), "users:admin")
	require.NotContains(t, err.Error(), "users:read")
}

func TestErrLockedOutRoundsUp(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	var fe *fault.Error
	require.ErrorAs(t, domain.ErrLockedOut(now.Add(1500*time.Millisecond), now), &fe)
	require.Equal(t, fault.RateLimited, fe.Kind)
	require.Equal(t, 2, fe.RetryAfterSeconds)
}

func TestHashSchemeNamesTheSchemeOnly(t *testing.T) {
	for encoded, want := range map[string]string{
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdA$a2V5":                              "argon2id",
		"$pbkdf2-sha256$29000$Z0yJsdbam1NKiZHSGuMcIw$gExhbYkaQ1gdOnzl6LfxSBp":  "pbkdf2-sha256",
		"$2b$04$0ehisEbhH79wZy0Rit8gCujAxj7aLDsjZV0pczUMm0ZtRkSR2JsWK":         "2b",
		"pbkdf2_sha256$1000$We5KkBnab6BR$ZkJ91D6UM40nR6p40qw9vUvFd8L9ubMP8p2K": "pbkdf2_sha256",
		"plain":                              "unknown",
		"$":                                  "unknown",
		"$" + strings.Repeat("x", 40) + "$y": "unknown",
	} {
		require.Equal(t, want, domain.HashScheme(encoded), encoded)
	}
}
