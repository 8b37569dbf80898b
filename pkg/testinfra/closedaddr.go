package testinfra

import (
	"net"
	"testing"

	"github.com/stretchr/testify/require"
)

// ClosedAddr is a loopback address where nothing listens (a port that was
// just free): a server that is down, for tests of what a client does then.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}
