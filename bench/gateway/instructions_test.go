package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTotalIr reads the instruction count from a callgrind dump's head,
// and refuses a dump without one rather than report zero.
func TestTotalIr(t *testing.T) {
	dump := `# callgrind format
version: 1
creator: callgrind-3.19.0
pid: 4242
cmd:  ./lattice serve --target=gateway
part: 1

positions: line
events: Ir
summary: 296447230

fl=(1) runtime/proc.go
fn=(1) runtime.schedule
12 40
totals: 296447230
`
	n, err := totalIr(strings.NewReader(dump))
	require.NoError(t, err)
	require.EqualValues(t, 296447230, n)

	n, err = totalIr(strings.NewReader("events: Ir\ntotals: 17 3\n"))
	require.NoError(t, err)
	require.EqualValues(t, 17, n, "an older dump's totals line, Ir first")

	_, err = totalIr(strings.NewReader("events: Ir\nfn=(1) main\n"))
	require.ErrorContains(t, err, "no summary line")
	_, err = totalIr(strings.NewReader("summary:\n"))
	require.ErrorContains(t, err, "has no count")
	_, err = totalIr(strings.NewReader("summary: many\n"))
	require.Error(t, err)
}

// TestTailAndCopyFile: a failed count shows the end of the gateway's
// output, and -callgrind-keep copies a dump whole into a new directory.
func TestTailAndCopyFile(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "out")
	require.NoError(t, os.WriteFile(src, []byte("early lines\nSIGILL: illegal instruction\n"), 0o600))
	require.Equal(t, "SIGILL: illegal instruction\n", tail(src, 28))
	require.Equal(t, "early lines\nSIGILL: illegal instruction\n", tail(src, 1<<10))
	require.Contains(t, tail(filepath.Join(dir, "none"), 10), "no such file")

	dst := filepath.Join(dir, "kept", "gateway.callgrind")
	require.NoError(t, copyFile(src, dst))
	got, err := os.ReadFile(dst)
	require.NoError(t, err)
	require.Equal(t, "early lines\nSIGILL: illegal instruction\n", string(got))
}

// TestLastValue: the value a process sees is the last of duplicates.
func TestLastValue(t *testing.T) {
	env := []string{"GODEBUG=a=1", "GOGC=400", "GODEBUG=schedtrace=9", "GODEBUGX=no"}
	require.Equal(t, "schedtrace=9", lastValue(env, "GODEBUG"))
	require.Equal(t, "400", lastValue(env, "GOGC"))
	require.Empty(t, lastValue(env, "GOMEMLIMIT"))
}
