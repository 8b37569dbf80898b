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
	addr, err := FreeAddr()
	require.NoError(t, err)
	return addr
}

// FreeAddr is ClosedAddr for code that runs outside a test (a package's
// shared set-up): a loopback address nothing listens on now, to give a
// server that binds it next. A server in the test's own process binds
// port 0 instead; freeport says why its ports are safer than port 0's for
// the others.
func FreeAddr() (string, error) {
	return freeport.Addr()
}
