package testinfra

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/testinfra/freeport"
)

// ClosedAddr is a loopback address where nothing listens (a port that was
// just free): a server that is down, for tests of what a client does then.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	addr, err := freeport.Addr()
	require.NoError(t, err)
	return addr
}
