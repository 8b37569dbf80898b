package fastupstream_test

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/valyala/fasthttp"

	"github.com/lattice-platform/lattice/pkg/adapters/fastupstream"
)

// TestCarries reads the names as the server normalised them: a name
// sent in any case counts, a near miss does not, and a header set after
// the read counts too.
func TestCarries(t *testing.T) {
	read := func(head string) *fasthttp.RequestHeader {
		t.Helper()
		var h fasthttp.RequestHeader
		require.NoError(t, h.Read(bufio.NewReader(strings.NewReader("GET /x HTTP/1.1\r\n"+head+"\r\n"))))
		return &h
	}
	forwarding := []string{"Forwarded", "X-Forwarded-For"}
	plain := read("Host: a\r\nAuthorization: Bearer t\r\nAccept: */*\r\nCookie: a=b\r\n")
	require.False(t, fastupstream.Carries(plain))
	require.False(t, fastupstream.Carries(plain, forwarding...))
	require.True(t, fastupstream.Carries(plain, "authorization"), "drop's names match in any case")
	require.False(t, fastupstream.Carries(plain, "Authorizatio"), "a prefix is another name")
	for _, head := range []string{"kEEP-aLIVE: 5", "te: trailers", "PROXY-CONNECTION: keep-alive", "Connection: close",
		"connection: x-mine", "Upgrade: websocket", "proxy-authorization: Basic eDp5", "Expect: 100-continue"} {
		require.True(t, fastupstream.Carries(read("Host: a\r\n"+head+"\r\n")), head)
	}
	require.True(t, fastupstream.Carries(read("Host: a\r\nx-forwarded-FOR: 6.6.6.6\r\n"), forwarding...))
	require.False(t, fastupstream.Carries(read("Host: a\r\nX-Forwarded-Fox: 1\r\n"), forwarding...), "one letter apart")
	require.False(t, fastupstream.Carries(read("Host: a\r\nKeep_Alive: 1\r\n")), "'_' is not '-'")

	plain.Set("Keep-Alive", "5")
	require.True(t, fastupstream.Carries(plain), "a header set after the read")
}

// TestHopByHopKnowsEachName: the switch and the list the headers are
// deleted by agree, and the switch takes canonical names only.
func TestHopByHopKnowsEachName(t *testing.T) {
	for _, k := range fastupstream.HopByHopNames {
		require.True(t, fastupstream.HopByHop(k), k)
		require.False(t, fastupstream.HopByHop(strings.ToUpper(k)), k)
	}
	for _, k := range []string{"Host", "Accept", "Te-", "Upgrades", "Content-Length", ""} {
		require.False(t, fastupstream.HopByHop(k), k)
	}
}

// TestUseRequestDropsTheNamedHeadersInAnyCase: the request as the
// upstream gets it leaves out the hop-by-hop headers and the caller's names, as
// a client spelled them, and keeps the rest as they came.
func TestUseRequestDropsTheNamedHeadersInAnyCase(t *testing.T) {
	c := fastupstream.New(fastupstream.Options{})
	defer c.CloseIdleConnections()
	var in fasthttp.Request
	require.NoError(t, in.Read(bufio.NewReader(strings.NewReader("GET /x?q=1 HTTP/1.1\r\nHost: a\r\n"+
		"x-forwarded-FOR: 6.6.6.6\r\nkeep-alive: 5\r\nAccept: */*\r\nX-Forwarded-Fox: kept\r\n\r\n"))))
	req := c.UseRequest(&in, "Forwarded", "X-Forwarded-For")
	defer req.Release()
	h := req.Header()
	require.Empty(t, h.Peek("X-Forwarded-For"), "a name of drop, in another case")
	require.Empty(t, h.Peek("Keep-Alive"), "hop-by-hop")
	require.Equal(t, "*/*", string(h.Peek("Accept")))
	require.Equal(t, "kept", string(h.Peek("X-Forwarded-Fox")), "one letter apart")
	require.Equal(t, "/x?q=1", string(h.RequestURI()))

	var plain fasthttp.Request
	require.NoError(t, plain.Read(bufio.NewReader(strings.NewReader("GET /y HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n"))))
	req2 := c.UseRequest(&plain, "Forwarded")
	defer req2.Release()
	require.Equal(t, "*/*", string(req2.Header().Peek("Accept")))
	require.Equal(t, "a", string(req2.Header().Host()))
}

// TestWriteToPutsABodyOfKnownLengthIntoTheResponse, whole, with the
// bytes sent told to done; a body that ends before its Content-Length is
// an error and nothing is put. The answers' buffers are reused (WriteTo
// trades them with the responses'): a second answer does not show the
// first's bytes.
func TestWriteToPutsABodyOfKnownLengthIntoTheResponse(t *testing.T) {
	c := fastupstream.New(fastupstream.Options{})
	defer c.CloseIdleConnections()
	send := func(t *testing.T, target *url.URL) (*fasthttp.RequestCtx, int64, error) {
		t.Helper()
		var in fasthttp.Request
		require.NoError(t, in.Read(bufio.NewReader(strings.NewReader("GET /x HTTP/1.1\r\nHost: a\r\n\r\n"))))
		req := c.UseRequest(&in)
		defer req.Release()
		answer, err := c.Send(req, target, 5*time.Second)
		require.NoError(t, err)
		var ctx fasthttp.RequestCtx
		sent := int64(-1)
		err = answer.WriteTo(&ctx, sentFunc(func(n int64) { sent = n }))
		return &ctx, sent, err
	}
	for i, body := range []string{strings.Repeat("a", 1000), "short", ""} {
		ctx, sent, err := send(t, startRawUpstream(t, fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\nX-Up: %d\r\n\r\n%s", len(body), i, body)).u)
		require.NoError(t, err)
		require.Equal(t, body, string(ctx.Response.Body()))
		require.EqualValues(t, len(body), sent)
		require.Equal(t, fmt.Sprint(i), string(ctx.Response.Header.Peek("X-Up")))
	}

	ctx, sent, err := send(t, startRawUpstream(t, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b").u)
	require.Error(t, err, "the body broke off")
	require.EqualValues(t, -1, sent, "done is not called")
	require.Empty(t, ctx.Response.Body())
}

// TestWriteToPassesTheEndToEndHeadersOnly: the answer's hop-by-hop
// headers, those any of its Connection headers name, and the Options'
// drops stay behind; the rest reach the response as the upstream sent
// them, repeated ones each.
func TestWriteToPassesTheEndToEndHeadersOnly(t *testing.T) {
	c := fastupstream.New(fastupstream.Options{DropResponseHeaders: []string{"Server", "X-Request-Id"}})
	defer c.CloseIdleConnections()
	up := startRawUpstream(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n"+
		"Connection: X-Hop, keep-alive\r\nConnection: x-other\r\nKeep-Alive: timeout=5\r\nTrailer: X-T\r\n"+
		"X-Hop: 1\r\nX-Other: 2\r\nServer: up/1.0\r\nX-Request-Id: theirs\r\n"+
		"X-Kept: a\r\nX-Kept: b\r\nCache-Control: no-cache\r\n\r\n{}")
	var in fasthttp.Request
	require.NoError(t, in.Read(bufio.NewReader(strings.NewReader("GET /x HTTP/1.1\r\nHost: a\r\n\r\n"))))
	req := c.UseRequest(&in)
	defer req.Release()
	answer, err := c.Send(req, up.u, 5*time.Second)
	require.NoError(t, err)
	var ctx fasthttp.RequestCtx
	require.NoError(t, answer.WriteTo(&ctx, nil))

	h := &ctx.Response.Header
	var got []string
	for k, v := range h.All() {
		got = append(got, string(k)+": "+string(v))
	}
	require.ElementsMatch(t, []string{"Content-Type: application/json", "X-Kept: a", "X-Kept: b", "Cache-Control: no-cache"}, got)
	require.Equal(t, "{}", string(ctx.Response.Body()))
}

// TestARequestFromAServerIsJoinedToABasePathEachTimeItIsSent: the join
// starts from the client's URI every time, so a request sent again (to
// another replica) does not carry the base path twice, and the server's
// request keeps the URI it was read with.
func TestARequestFromAServerIsJoinedToABasePathEachTimeItIsSent(t *testing.T) {
	seen := make(chan string, 2)
	up := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { seen <- r.URL.RequestURI() }))
	defer up.Close()
	target, err := url.Parse(up.URL + "/base?k=v")
	require.NoError(t, err)
	c := fastupstream.New(fastupstream.Options{})
	defer c.CloseIdleConnections()
	var in fasthttp.Request
	require.NoError(t, in.Read(bufio.NewReader(strings.NewReader("GET /x?q=1 HTTP/1.1\r\nHost: a\r\n\r\n"))))
	req := c.UseRequest(&in)
	defer req.Release()
	for range 2 {
		answer, err := c.Send(req, target, 5*time.Second)
		require.NoError(t, err)
		answer.Discard()
		require.Equal(t, "/base/x?k=v&q=1", <-seen)
		require.Equal(t, "/x?q=1", string(in.Header.RequestURI()), "the server's request as it was read")
	}
}

// sentFunc is a fastupstream.Sent that calls a function.
type sentFunc func(n int64)

func (f sentFunc) AnswerSent(n int64) { f(n) }
