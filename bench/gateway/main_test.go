package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/testinfra/leakcheck"
)

// TestMain fails the package's tests if they leave goroutines running.
func TestMain(m *testing.M) { leakcheck.Main(m) }

// TestParseVariant: -variant takes a name and KEY=VALUE pairs, and
// refuses what would start a gateway other than the one asked for.
func TestParseVariant(t *testing.T) {
	v, err := parseVariant("gogc400:GOGC=400,GOMEMLIMIT=192MiB")
	require.NoError(t, err)
	require.Equal(t, "gogc400", v.name)
	require.Equal(t, []string{"GOGC=400", "GOMEMLIMIT=192MiB"}, v.env)
	require.Empty(t, v.bin, "the lab's own binary")
	for _, bad := range []string{"", "gogc", ":GOGC=1", "x:", "x:GOGC", "x:=1", "x:GOGC=1,,"} {
		_, err := parseVariant(bad)
		require.Error(t, err, "%q", bad)
	}
}
