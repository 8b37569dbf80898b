package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/platform/config"
)

func write(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

func TestSecretsComeFromTheEnvironmentOrAFile(t *testing.T) {
	env := config.FromMap(map[string]string{"A": "from-env", "B_FILE": write(t, "from-file\n")})
	require.Equal(t, "from-env", env.Secret("A", "def"))
	require.Equal(t, "from-file", env.Secret("B", "def"), "without its trailing newline")
	require.Equal(t, "def", env.Secret("C", "def"))
	require.NoError(t, env.Err())

	key := []byte("0123456789abcdef0123456789abcdef")
	env = config.FromMap(map[string]string{"K_FILE": write(t, "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n")})
	require.Equal(t, key, env.Base64Key("K", 32))
	require.NoError(t, env.Err())
}

func TestSecretFileMistakesAreReportedWithoutTheSecret(t *testing.T) {
	const secret = "hunter2-do-not-print"
	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"both":      {map[string]string{"S": secret, "S_FILE": write(t, secret)}, "S_FILE: set it or S, not both"},
		"missing":   {map[string]string{"S_FILE": filepath.Join(t.TempDir(), "nope")}, "S_FILE"},
		"too large": {map[string]string{"S_FILE": write(t, secret+strings.Repeat("x", config.MaxSecretFile))}, "larger than"},
		"bad key":   {map[string]string{"S_FILE": write(t, secret)}, "S: want 32 bytes"},
	} {
		env := config.FromMap(tc.env)
		if name == "bad key" {
			require.Nil(t, env.Base64Key("S", 32), name)
		} else {
			require.Empty(t, env.Secret("S", ""), name)
		}
		require.ErrorContains(t, env.Err(), tc.want, name)
		require.NotContains(t, env.Err().Error(), secret, name)
	}
}
