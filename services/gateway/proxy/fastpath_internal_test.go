package proxy

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/valyala/fasthttp"
)

// TestFastHeadersAreWhatPeekFinds reads requests as the server parses
// them and checks the one-pass scan against Peek for each name, whatever
// the case the client wrote it in and however often it repeats.
func TestFastHeadersAreWhatPeekFinds(t *testing.T) {
	for _, head := range []string{
		"GET /v1/x HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /v1/x HTTP/1.1\r\nHost: a\r\nauthorization: Bearer t1\r\nx-request-id: r-1\r\nUPGRADE: websocket\r\n\r\n",
		"POST /v1/x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nIdempotency-Key: k1\r\nIdempotency-Key: k2\r\nOrigin: https://b\r\ntraceparent: 00-0123456789abcdef0123456789abcdef-0123456789abcdef-01\r\n\r\n",
		"GET /v1/x HTTP/1.1\r\nHost: a\r\nX-Request-ID:\r\nX-Request-ID: second\r\nAuthorization: Bearer t1\r\nAuthorization: Bearer t2\r\nCookie: a=b\r\nUser-Agent: u\r\n\r\n",
	} {
		var h fasthttp.RequestHeader
		require.NoError(t, h.Read(bufio.NewReader(strings.NewReader(head))))
		got := readFastHeaders(&h)
		for name, value := range map[string][]byte{
			"Upgrade": got.upgrade, "Traceparent": got.traceparent, "Origin": got.origin,
			"X-Request-ID": got.requestID, "Authorization": got.authorization, "Idempotency-Key": got.idempotencyKey,
		} {
			require.Equal(t, string(h.Peek(name)), string(value), "%s in %q", name, head)
		}
	}
}

// BenchmarkFastHeaders is the scan for a request as bench/gateway sends
// it, against the Peeks it replaced.
func BenchmarkFastHeaders(b *testing.B) {
	var h fasthttp.RequestHeader
	head := "GET /v1/resources/x HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAuthorization: Bearer " + strings.Repeat("t", 300) + "\r\n\r\n"
	require.NoError(b, h.Read(bufio.NewReader(strings.NewReader(head))))
	b.Run("scan", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			f := readFastHeaders(&h)
			if len(f.authorization) == 0 {
				b.Fatal("no Authorization")
			}
		}
	})
	b.Run("peeks", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			n := len(h.Peek("Upgrade")) + len(h.Peek("Traceparent")) + len(h.Peek("X-Request-ID")) + len(h.Peek("Idempotency-Key"))
			if n+len(h.Peek("Authorization")) == 0 {
				b.Fatal("no Authorization")
			}
		}
	})
}

// TestPeerAddrsAreEachConnectionsOwn: a connection's address is made once
// and found again; connections sharing a slot each get their own.
func TestPeerAddrsAreEachConnectionsOwn(t *testing.T) {
	var p peerAddrs
	conns := make([]*fasthttp.RequestCtx, len(p)+1) // two of them share a slot, whatever their ids
	for i := range conns {
		conns[i] = new(fasthttp.RequestCtx)
		conns[i].Init(new(fasthttp.Request), &net.TCPAddr{IP: net.IPv4(10, 0, byte(i/256), byte(i%256)), Port: 1000 + i}, nil)
	}
	for round := range 2 {
		for i, c := range conns {
			require.Equal(t, fmt.Sprintf("10.0.%d.%d:%d", i/256, i%256, 1000+i), p.of(c), "connection %d, round %d", i, round)
		}
	}
	allocs := testing.AllocsPerRun(100, func() { _ = p.of(conns[1]) })
	require.Zero(t, allocs, "a connection's later requests find it made")
}
