package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestEventLoopFloorForwards: the epoll floor only counts if it proxies:
// pipelined requests come back in order, each with its own answer, a
// request's body reaches the upstream whole, and an answer it cannot
// frame (chunked) closes the client's connection instead of hanging it.
func TestEventLoopFloorForwards(t *testing.T) {
	release := make(chan struct{})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/slow" {
			<-release
		}
		if r.URL.Path == "/chunked" {
			w.(http.Flusher).Flush() // no Content-Length: a chunked answer
			_, _ = io.WriteString(w, "streamed")
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(r.URL.Path)+len(body)))
		_, _ = io.WriteString(w, r.URL.Path+string(body))
	}))
	defer upstream.Close()
	defer close(release) // before the upstream closes: it waits for its handlers
	p, err := startEventLoop("127.0.0.1:0", strings.TrimPrefix(upstream.URL, "http://"))
	require.NoError(t, err)
	defer p.Stop()

	conn, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	// Three requests in one write, the second with a body.
	_, err = io.WriteString(conn, "GET /one HTTP/1.1\r\nHost: x\r\n\r\n"+
		"POST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"+
		"GET /three HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	r := bufio.NewReader(conn)
	for _, want := range []string{"/one", "/twohello", "/three"} {
		resp, err := http.ReadResponse(r, nil)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, want, string(body))
	}

	_, err = io.WriteString(conn, "GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	_, err = io.ReadAll(r)
	require.NoError(t, err, "the connection ends instead of waiting for its deadline")

	// A client that sends more than maxPending of whole requests while
	// its first waits for an answer is cut off.
	greedy, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err)
	defer greedy.Close()
	require.NoError(t, greedy.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(greedy, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	small := []byte(strings.Repeat("GET /next HTTP/1.1\r\nHost: x\r\n\r\n", 2000))
	sent := 0
	for ; sent <= 2*maxPending && err == nil; sent += len(small) {
		_, err = greedy.Write(small)
	}
	if err == nil {
		// The kernel's socket buffers can take what was written after the
		// floor's close: the close then shows on a read, as the stream's
		// end or a reset, never as the deadline (/slow is never answered).
		_, err = greedy.Read(make([]byte, 1))
	}
	require.Error(t, err, "the floor closed the connection after about maxPending")
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "closed, not left waiting: %v", err)
	require.Greater(t, sent, maxPending)
}

// TestMessageLength: where a message ends, and the limits that refuse one,
// each crossed.
func TestMessageLength(t *testing.T) {
	head := "HTTP/1.1 200 OK\r\ncontent-length:  3 \r\n\r\n"
	for _, c := range []struct {
		in   string
		want int
		err  error
	}{
		{"GET / HTTP/1.1\r\nHost: x\r\n", 0, nil},
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET", len("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), nil},
		{head + "ab", 0, nil},
		{head + "abcGET", len(head) + 3, nil},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 0, errChunked},
		{"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 0, errBadLength},
		{"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", 0, errBadLength},
		{"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", 0, errBadLength},
		{"GET / HTTP/1.1\r\nX: " + strings.Repeat("a", maxHead), 0, errHeadTooBig},
		{"GET / HTTP/1.1\r\nX: " + strings.Repeat("a", maxHead) + "\r\n\r\n", 0, errHeadTooBig},
		{"GET / HTTP/1.1\r\nX: " + strings.Repeat("a", maxHead-20), 0, nil},
		{"POST / HTTP/1.1\r\nContent-Length: 1048576\r\n\r\n", 0, errMessageSize},
		{"POST / HTTP/1.1\r\nContent-Length: 1048000\r\n\r\n", 0, nil},
	} {
		n, err := messageLength([]byte(c.in))
		require.ErrorIs(t, err, c.err, "%.40q", c.in)
		require.Equal(t, c.want, n, "%.40q", c.in)
	}
}
