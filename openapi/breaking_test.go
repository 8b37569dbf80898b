package openapi_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// history makes a git repository whose openapi/<name> is base in its first
// commit and head in its second, and whose working tree holds approvals
// as openapi/breaking-changes.txt when it is not empty.
func history(t *testing.T, name, base, head, approvals string) string {
	t.Helper()
	dir := t.TempDir()
	git := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, out)
	}
	put := func(fixture string) {
		raw, err := os.ReadFile(filepath.Join("testdata", "breaking", fixture))
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "openapi"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "openapi", name), raw, 0o644))
	}
	git("init", "-q")
	put(base)
	git("add", ".")
	git("commit", "-q", "-m", "base")
	put(head)
	git("commit", "-q", "-am", "head")
	if approvals != "" {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "openapi", "breaking-changes.txt"), []byte(approvals), 0o644))
	}
	return dir
}

// gate runs scripts/breaking-changes on a repository: its output, and
// whether it passed.
func gate(t *testing.T, repo string) (string, bool) {
	t.Helper()
	cmd := exec.Command("../scripts/breaking-changes", repo)
	cmd.Env = append(os.Environ(), "SPEC_BASE=")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 {
		return string(out), false
	}
	require.NoError(t, err, "%s", out)
	return string(out), true
}

// The contract gate: a breaking change to a spec fails it, unless
// approved with a reason; a compatible change passes.
func TestBreakingChangesFailTheGate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds oasdiff")
	}
	t.Run("an operation removed", func(t *testing.T) {
		out, ok := gate(t, history(t, "things.yaml", "base.yaml", "breaking.yaml", ""))
		require.False(t, ok, out)
		require.Contains(t, out, "DELETE /v1/things/{id}")
		require.Contains(t, out, "api-path-removed-without-deprecation")
	})
	t.Run("a field added", func(t *testing.T) {
		out, ok := gate(t, history(t, "things.yaml", "base.yaml", "compatible.yaml", ""))
		require.True(t, ok, out)
	})
	t.Run("an event's field changes type", func(t *testing.T) {
		out, ok := gate(t, history(t, "events.yaml", "events-base.yaml", "events-breaking.yaml", ""))
		require.False(t, ok, out)
		require.Contains(t, out, "ThingCreated")
		require.Contains(t, out, "owner")
	})
	t.Run("approved with a reason", func(t *testing.T) {
		approval := "# approved breaking changes\nDELETE /v1/things/{id} API path removed without deprecation reason: things are never deleted since v2\n"
		out, ok := gate(t, history(t, "things.yaml", "base.yaml", "breaking.yaml", approval))
		require.True(t, ok, out)
	})
	t.Run("approved without a reason", func(t *testing.T) {
		approval := "DELETE /v1/things/{id} API path removed without deprecation\n"
		out, ok := gate(t, history(t, "things.yaml", "base.yaml", "breaking.yaml", approval))
		require.False(t, ok, out)
		require.Contains(t, out, `every approval needs "reason: <why>"`)
	})
	t.Run("a spec removed", func(t *testing.T) {
		repo := history(t, "things.yaml", "base.yaml", "compatible.yaml", "")
		cmd := exec.Command("git", "-c", "user.name=t", "-c", "user.email=t@example.com", "rm", "-q", "openapi/things.yaml")
		cmd.Dir = repo
		require.NoError(t, cmd.Run())
		out, ok := gate(t, repo)
		require.False(t, ok, out)
		require.Contains(t, out, "openapi/things.yaml: removed")
	})
}
