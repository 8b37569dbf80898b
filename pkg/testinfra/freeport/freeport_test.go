package freeport

import (
	"net"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/testinfra/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func TestAddrIsBelowTheEphemeralRangeAndBindable(t *testing.T) {
	high, err := ephemeralLow()
	require.NoError(t, err)
	for range 20 {
		addr, err := Addr()
		require.NoError(t, err)
		host, p, err := net.SplitHostPort(addr)
		require.NoError(t, err)
		assert.Equal(t, "127.0.0.1", host)
		port, err := strconv.Atoi(p)
		require.NoError(t, err)
		assert.GreaterOrEqual(t, port, lowest)
		assert.Less(t, port, high, "a port the kernel hands out itself can be taken before the server binds it")
		l, err := net.Listen("tcp", addr)
		require.NoError(t, err, "the address given must be free to bind")
		require.NoError(t, l.Close())
	}
}

func TestParseLow(t *testing.T) {
	low, err := parseLow("32768\t60999\n")
	require.NoError(t, err)
	assert.Equal(t, 32768, low)
	for _, bad := range []string{"", "32768", "a 60999", "0 60999", "70000 70001", "1 2 3"} {
		_, err := parseLow(bad)
		assert.Error(t, err, "%q", bad)
	}
}

func TestAddrGivesUpWhenEveryPortIsTaken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	_, err = addrIn(port, port+1)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no free port in 64 draws")
}
