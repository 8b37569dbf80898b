package fastupstream_test

import (
	"bufio"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/valyala/fasthttp"

	"github.com/lattice-platform/lattice/pkg/adapters/fastupstream"
)

// TestMayCarry reads the header block as received: a name in any case
// counts, and a line it cannot take for a plain "name: value" says yes
// rather than let a header through unchecked.
func TestMayCarry(t *testing.T) {
	read := func(head string) *fasthttp.RequestHeader {
		t.Helper()
		var h fasthttp.RequestHeader
		require.NoError(t, h.Read(bufio.NewReader(strings.NewReader("GET /x HTTP/1.1\r\n"+head+"\r\n"))))
		return &h
	}
	hop := []string{"Connection", "Keep-Alive", "Te"}
	plain := read("Host: a\r\nAuthorization: Bearer t\r\nAccept: */*\r\n")
	require.False(t, fastupstream.MayCarry(plain, hop...))
	require.True(t, fastupstream.MayCarry(plain, "authorization"), "names match in any case")
	require.False(t, fastupstream.MayCarry(plain, "Authorizatio"), "a prefix is another name")
	require.True(t, fastupstream.MayCarry(read("Host: a\r\nkEEP-aLIVE: 5\r\n"), hop...))
	require.True(t, fastupstream.MayCarry(read("Host: a\r\nte: trailers\r\n"), hop...))
	require.True(t, fastupstream.MayCarry(read("Host: a\r\nX-Forwarded-For: 6.6.6.6\r\n"), "Forwarded", "X-Forwarded-For"))
	require.False(t, fastupstream.MayCarry(read("Host: a\r\nX-Forwarded-Fox: 1\r\n"), "X-Forwarded-For"), "one letter apart")
	require.False(t, fastupstream.MayCarry(read("Host: a\r\nKeep_Alive: 1\r\n"), hop...), "'_' is not '-'")

	var unread fasthttp.RequestHeader
	unread.Set("Keep-Alive", "5")
	require.True(t, fastupstream.MayCarry(&unread, "Accept"), "a header no server read cannot be told: yes")
}
