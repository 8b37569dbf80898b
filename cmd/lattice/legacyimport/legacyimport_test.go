package legacyimport

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/pkg/testinfra/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func write(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mapping.yaml")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
	return path
}

const good = `
users:
  table: public.users
  key: id
  email: email
  display_name: full_name
  password_hash: password_hash
`

func TestAMappingNamesPlainIdentifiersOnly(t *testing.T) {
	m, err := LoadMapping(write(t, good))
	require.NoError(t, err)
	require.Equal(t, "public.users", m.Users.Table)
	for name, text := range map[string]string{
		"unknown key":                good + "  nickname: nick\n",
		"missing column":             "users:\n  table: users\n  key: id\n",
		"SQL in a column":            strings.Replace(good, "email: email", "email: email; DROP TABLE users", 1),
		"quoted identifier":          strings.Replace(good, "key: id", `key: '"id"'`, 1),
		"nothing to import":          "{}\n",
		"a kind without its columns": good + "resources:\n  table: resources\n",
		"a file column as SQL":       "files:\n  table: files\n  key: id\n  resource: r\n  name: n\n  path: p\n  sha256: md5(x)\n",
		"not YAML":                   "users: [",
		"over 1 MiB":                 good + "# " + strings.Repeat("x", MaxMappingFile) + "\n",
	} {
		_, err := LoadMapping(write(t, text))
		require.Error(t, err, name)
	}
}

func TestAFilesRootIsRelativeToTheMapping(t *testing.T) {
	path := write(t, "files:\n  table: files\n  key: id\n  resource: resource_id\n  name: name\n  path: path\n  sha256: sha256\n  root: data/files\n")
	m, err := LoadMapping(path)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(filepath.Dir(path), "data/files"), m.Files.Root)
	require.Nil(t, m.Users)
}

// TestMetadataAndTagsComeFromJSON: string values are kept, other values
// become their JSON text, nulls are dropped; anything else is refused.
func TestMetadataAndTagsComeFromJSON(t *testing.T) {
	str := func(s string) *string { return &s }
	meta, err := metadataOf(str(`{"a":"x","n":3,"b":true,"o":{"k":[1]},"z":null}`))
	require.NoError(t, err)
	require.Equal(t, map[string]string{"a": "x", "n": "3", "b": "true", "o": `{"k":[1]}`}, meta)
	meta, err = metadataOf(nil)
	require.NoError(t, err)
	require.Nil(t, meta)
	_, err = metadataOf(str(`["not", "an", "object"]`))
	require.Error(t, err)

	tags, err := tagsOf(str(`["a", 2, "b"]`))
	require.NoError(t, err)
	require.Equal(t, []string{"a", "2", "b"}, tags)
	_, err = tagsOf(str(`[{"nested": true}]`))
	require.Error(t, err)
	_, err = tagsOf(str(`"a,b"`))
	require.Error(t, err)
}

// TestTheSourceIsReadOnly: whatever the importer sends, the source database
// refuses to change.
func TestTheSourceIsReadOnly(t *testing.T) {
	ctx := context.Background()
	src, err := OpenSource(ctx, testinfra.Postgres(t))
	require.NoError(t, err)
	defer src.Close(ctx)
	_, err = src.conn.Exec(ctx, "CREATE TABLE intruder (id int)")
	require.ErrorContains(t, err, "read-only transaction")
}

func TestASourceURLWithAPasswordIsNotRepeated(t *testing.T) {
	_, err := OpenSource(context.Background(), "postgres://lattice:hunter2@"+testinfra.ClosedAddr(t)+"/db?connect_timeout=2")
	require.Error(t, err)
	require.NotContains(t, err.Error(), "hunter2")
	_, err = OpenSource(context.Background(), "postgres://lattice:hunter2@[bad")
	require.Error(t, err)
	require.NotContains(t, err.Error(), "hunter2")
}

// TestProgressIsABarInATerminalAndLinesElsewhere: the bar counts rows to
// the total and ends its line; lines come at most every interval, and one
// at the end.
func TestProgressIsABarInATerminalAndLinesElsewhere(t *testing.T) {
	var out strings.Builder
	b := newProgress(Options{Progress: &out, Bar: true}, "users", 3)
	for i := 1; i <= 3; i++ {
		b.tick(i)
	}
	b.done(3)
	require.Contains(t, out.String(), "users")
	require.Contains(t, out.String(), "100%")
	require.Contains(t, out.String(), "(3/3")
	require.True(t, strings.HasSuffix(out.String(), "\n"), "the bar's line is ended")

	out.Reset()
	l := newProgress(Options{Progress: &out, Every: time.Hour}, "users", 3)
	for i := 1; i <= 3; i++ {
		l.tick(i)
	}
	l.done(3)
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, got, 2, "the first row's line, then the last: the interval holds the others back\n%s", out.String())
	require.True(t, strings.HasPrefix(got[1], "users: 3/3 (100%), "), got[1])

	newProgress(Options{}, "users", 3).done(3) // nowhere to write: nothing happens
}
