package migration_test

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

// TestImportingTheMonolithsUsers runs `lattice import` on the monolith's
// database as an operator would: a dry run reports and writes nothing; the
// import makes every good user once, admins as admins, with their hashes
// and sign-up times, and reports the bad rows (an invalid email, an email
// duplicated in another case) by legacy id; a second run changes nothing.
func TestImportingTheMonolithsUsers(t *testing.T) {
	m := startMonolith(t, "--users", "6", "--resources-per-user", "0", "--files-per-resource", "0")
	env := testinfra.PlatformEnv(t)
	invalid, dup := m.Seeded.Bad["invalid_email"][0], m.Seeded.Bad["duplicate_email"][0]
	skipped := fmt.Sprintf("  skipped, duplicate email: 1 (legacy ids [%d])\n  skipped, invalid email: 1 (legacy ids [%d])\n", dup, invalid)

	report := importUsers(t, m, env, "--dry-run")
	require.Equal(t, "users: 8 read, 6 would create, 0 unchanged, 2 skipped\n"+skipped, report)
	users := authUsers(t, env)
	ctx := context.Background()
	none, err := users.List(ctx, "", 10)
	require.NoError(t, err)
	require.Empty(t, none, "a dry run writes nothing")

	require.Equal(t, "users: 8 read, 6 created, 0 unchanged, 2 skipped\n"+skipped, importUsers(t, m, env))
	legacy := legacyUsers(t, m)
	for i, want := range legacy {
		got, err := users.ByEmail(ctx, want.email)
		require.NoError(t, err, "user %d", i)
		require.Equal(t, want.hash, got.PasswordHash, "the hash is kept as it is")
		require.Equal(t, want.name, got.DisplayName)
		require.Equal(t, want.admin, got.Role == domain.RoleAdmin, want.email)
	}
	all, err := users.List(ctx, "", 100)
	require.NoError(t, err)
	require.Len(t, all, 6, "no bad row left a user behind")

	require.Equal(t, "users: 8 read, 0 created, 6 unchanged, 2 skipped\n"+skipped, importUsers(t, m, env), "a re-run changes nothing")
	require.Len(t, legacy, 6)
}

// TestAKilledImportResumesByRunningAgain: `lattice import` is killed with
// SIGKILL part-way; running it again imports the rest. Every good row is
// then a user exactly once (created before the kill or by the re-run, and
// unchanged), and no row was left half-imported: a user without its legacy
// id would come back as a duplicate email.
func TestAKilledImportResumesByRunningAgain(t *testing.T) {
	const n = 600
	m := startMonolith(t, "--users", strconv.Itoa(n), "--resources-per-user", "0", "--files-per-resource", "0")
	env := testinfra.PlatformEnv(t)
	cmd := exec.Command(testinfra.LatticeBinary(t), "import", "--mapping", "../../examples/monolith/import.yaml", "--progress-every", "1ns")
	cmd.Env = append(slices.Clone(env), "IMPORT_SOURCE_URL="+m.DatabaseURL)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	lines := bufio.NewScanner(stderr)
	progressed := 0
	for progressed < 50 && lines.Scan() { // a line a row
		if strings.HasPrefix(lines.Text(), "users: ") {
			progressed++
		}
	}
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	require.Equal(t, 50, progressed, "the import was under way when it was killed")

	report := importUsers(t, m, env)
	var read, created, unchanged, skipped int
	_, err = fmt.Sscanf(report, "users: %d read, %d created, %d unchanged, %d skipped", &read, &created, &unchanged, &skipped)
	require.NoError(t, err, report)
	require.Equal(t, n+2, read)
	require.Equal(t, 2, skipped, "only the two bad rows: nothing was half-imported before the kill\n%s", report)
	require.Positive(t, unchanged, "some rows were imported before the kill")
	require.Positive(t, created, "the re-run imported the rest")
	require.Equal(t, n, created+unchanged)
	all, err := authUsers(t, env).List(context.Background(), "", n+10)
	require.NoError(t, err)
	require.Len(t, all, n, "each good row is a user exactly once")
	t.Logf("figure: import killed after %d of %d users; the re-run created %d", unchanged, n, created)
}
