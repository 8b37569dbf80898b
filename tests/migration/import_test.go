package migration_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/mysql"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

// TestImportingTheMonolith runs `lattice import` on the monolith's
// database as an operator would, with the platform running: a dry run
// reports and writes nothing; the import makes every good user, resource
// and file once (admins as admins, hashes as they are, resources with
// their owners, tags, metadata and times, files with their bytes), and
// reports the bad rows (an invalid email, an email duplicated in another
// case, a file gone from disk, a file over the size limit) by legacy id;
// search finds imported content with no extra step, because the events
// went through the outboxes; a second run changes nothing.
func TestImportingTheMonolith(t *testing.T) {
	ctx := context.Background()
	m := startMonolith(t, "--users", "6", "--resources-per-user", "2", "--files-per-resource", "1", "--oversize", strconv.Itoa(2<<20))
	env := append(testinfra.PlatformEnv(t), "RESOURCE_MAX_FILE_BYTES="+strconv.Itoa(1<<20))
	_, gateway := testinfra.ServeAll(t, env)
	b := m.Seeded.Bad
	report := func(verb string) string {
		return fmt.Sprintf("users: 8 read, 6 %[1]s, 0 unchanged, 2 skipped\n"+
			"  skipped, duplicate email: 1 (legacy ids [%[2]d])\n  skipped, invalid email: 1 (legacy ids [%[3]d])\n"+
			"resources: 12 read, 12 %[1]s, 0 unchanged, 0 skipped\n"+
			"files: 14 read, 12 %[1]s, 0 unchanged, 2 skipped\n"+
			"  skipped, missing file: 1 (legacy ids [%[4]d])\n  skipped, oversize file: 1 (legacy ids [%[5]d])\n",
			verb, b["duplicate_email"][0], b["invalid_email"][0], b["missing_file"][0], b["oversize_file"][0])
	}

	require.Equal(t, report("would create"), importUsers(t, m, env, "--dry-run"))
	users := authUsers(t, env)
	none, err := users.List(ctx, "", 10)
	require.NoError(t, err)
	require.Empty(t, none, "a dry run writes nothing")

	require.Equal(t, report("created"), importUsers(t, m, env))
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

	// The second user sees their resources and files through the gateway
	// as the monolith held them.
	u := m.Seeded.Users[1]
	status, session := call(t, "POST", gateway+"/v1/sessions", "", map[string]string{"email": u.Email, "password": u.Password})
	require.Equal(t, http.StatusCreated, status, "%v", session)
	token := session["token"].(string)
	want := legacyResources(t, m, u.Email)
	require.Len(t, want, 2)
	me, err := users.ByEmail(ctx, u.Email)
	require.NoError(t, err)
	status, list := call(t, "GET", gateway+"/v1/resources?limit=50&owner="+me.ID, token, nil)
	require.Equal(t, http.StatusOK, status, "%v", list)
	var got []legacyResource
	for _, item := range list["items"].([]any) {
		r := item.(map[string]any)
		lr := legacyResource{title: r["title"].(string), visibility: r["visibility"].(string), created: r["created_at"].(string)}
		for _, tag := range r["tags"].([]any) {
			lr.tags = append(lr.tags, tag.(string))
		}
		lr.metadata = map[string]string{}
		for k, v := range r["metadata"].(map[string]any) {
			lr.metadata[k] = v.(string)
		}
		status, files := call(t, "GET", gateway+"/v1/resources/"+r["id"].(string)+"/files", token, nil)
		require.Equal(t, http.StatusOK, status, "%v", files)
		for _, f := range files["items"].([]any) {
			lr.files = append(lr.files, f.(map[string]any)["sha256"].(string))
		}
		got = append(got, lr)
	}
	require.ElementsMatch(t, want, got)

	// Search indexed what the import wrote, from the events it left in the
	// outboxes; the file's words are found in the file.
	testinfra.Within(t, time.Minute, "search finds an imported file's words", func() bool {
		status, res := call(t, "POST", gateway+"/v1/search", token, map[string]any{"query": "Notes on " + want[0].title, "mode": "text", "limit": 20})
		if status != http.StatusOK {
			return false
		}
		for _, h := range res["hits"].([]any) {
			if h.(map[string]any)["file_id"] != nil {
				return true
			}
		}
		return false
	})

	require.Equal(t, strings.ReplaceAll(strings.ReplaceAll(report("created"), " 6 created, 0 unchanged", " 0 created, 6 unchanged"),
		" 12 created, 0 unchanged", " 0 created, 12 unchanged"), importUsers(t, m, env), "a re-run changes nothing")
}

// legacyResource is a monolith resource as its owner should see it in
// Lattice: files by checksum.
type legacyResource struct {
	title, visibility, created string
	tags                       []string
	metadata                   map[string]string
	files                      []string
}

// legacyResources reads the resources of the user with email from the
// monolith's database.
func legacyResources(t *testing.T, m *monolith, email string) []legacyResource {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, m.DatabaseURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT r.title, r.visibility, r.created_at, r.tags::text, r.metadata::text,
		    coalesce((SELECT array_agg(f.sha256 ORDER BY f.id) FROM files f WHERE f.resource_id = r.id), '{}')
		FROM resources r JOIN users u ON u.id = r.owner_id WHERE u.email = $1 ORDER BY r.id`, email)
	require.NoError(t, err)
	var out []legacyResource
	for rows.Next() {
		var r legacyResource
		var created time.Time
		var tags, meta string
		require.NoError(t, rows.Scan(&r.title, &r.visibility, &created, &tags, &meta, &r.files))
		require.NoError(t, json.Unmarshal([]byte(tags), &r.tags))
		require.NoError(t, json.Unmarshal([]byte(meta), &r.metadata))
		slices.Sort(r.tags)
		r.created = created.UTC().Format(time.RFC3339Nano)
		out = append(out, r)
	}
	require.NoError(t, rows.Err())
	return out
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
	killImport(t, m, env, "users: ", 50) // a line a row

	report := importUsers(t, m, env)
	var read, created, unchanged, skipped int
	_, err := fmt.Sscanf(report, "users: %d read, %d created, %d unchanged, %d skipped", &read, &created, &unchanged, &skipped)
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

// TestAKilledResourceImportResumes: an import writing resources in small
// parallel batches is killed with SIGKILL part-way; the next run imports
// the rest. Each monolith resource is then one Lattice resource with one
// legacy id and one resource.created event in the outbox: a batch is kept
// whole with its events or not at all.
func TestAKilledResourceImportResumes(t *testing.T) {
	const users, perUser = 20, 60
	m := startMonolith(t, "--users", strconv.Itoa(users), "--resources-per-user", strconv.Itoa(perUser), "--files-per-resource", "0")
	// No platform runs: the events wait in the outbox, to be counted. A
	// progress line comes after each batch.
	env := testinfra.PlatformEnv(t)
	killImport(t, m, env, "resources: ", 20, "--batch", "10", "--workers", "2")

	report := importUsers(t, m, env)
	at := strings.Index(report, "resources: ")
	require.GreaterOrEqual(t, at, 0, report)
	var read, created, unchanged, skipped int
	_, err := fmt.Sscanf(report[at:], "resources: %d read, %d created, %d unchanged, %d skipped", &read, &created, &unchanged, &skipped)
	require.NoError(t, err, report)
	require.Equal(t, users*perUser, read)
	require.Zero(t, skipped, report)
	require.GreaterOrEqual(t, unchanged, 200, "twenty batches of ten were kept before the kill")
	require.Positive(t, created, "the re-run imported the rest")
	require.Equal(t, users*perUser, created+unchanged)

	db, err := mysql.Open(context.Background(), envValue(env, "RESOURCE_DATABASE_URL"))
	require.NoError(t, err)
	defer db.Close()
	for what, query := range map[string]string{
		"resources":        "SELECT count(*) FROM resources",
		"legacy ids":       "SELECT count(DISTINCT legacy_id) FROM legacy_ids WHERE kind = 'resource'",
		"resource.created": "SELECT count(*) FROM outbox WHERE subject = 'events.resource.created'",
		"versions":         "SELECT count(*) FROM resource_versions",
	} {
		var n int
		require.NoError(t, db.QueryRow(query).Scan(&n), what)
		require.Equal(t, users*perUser, n, "%s: one per monolith resource", what)
	}
	t.Logf("figure: import killed after %d of %d resources; the re-run created %d", unchanged, users*perUser, created)
}

// killImport starts `lattice import` with a progress line for every step,
// and kills it with SIGKILL after lines progress lines of the kind that
// starts with prefix.
func killImport(t *testing.T, m *monolith, env []string, prefix string, lines int, flags ...string) {
	t.Helper()
	args := append([]string{"import", "--mapping", "../../examples/monolith/import.yaml", "--files-dir", m.FilesDir, "--progress-every", "1ns"}, flags...)
	cmd := exec.Command(testinfra.LatticeBinary(t), args...)
	cmd.Env = append(slices.Clone(env), "IMPORT_SOURCE_URL="+m.DatabaseURL)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	scanner := bufio.NewScanner(stderr)
	progressed := 0
	for progressed < lines && scanner.Scan() {
		if strings.HasPrefix(scanner.Text(), prefix) {
			progressed++
		}
	}
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	require.Equal(t, lines, progressed, "the import was under way when it was killed")
}
