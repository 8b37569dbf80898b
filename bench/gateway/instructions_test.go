package main

import (
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
