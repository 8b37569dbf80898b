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
	addr, err := FreeAddr()
	require.NoError(t, err)
	return addr
}

// FreeAddr is ClosedAddr for code that runs outside a test (a package's
// shared set-up): a loopback address nothing listens on now, to give a
// server that binds it next.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}
