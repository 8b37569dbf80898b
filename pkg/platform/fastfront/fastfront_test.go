package fastfront_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/valyala/fasthttp"

	"github.com/lattice-platform/lattice/pkg/platform/fastfront"
	"github.com/lattice-platform/lattice/pkg/testinfra"
)

func TestMain(m *testing.M) { testinfra.Run(m) }

// front serves on a loopback port: /fast on the fast path (which needs
// the whole body), everything else by the net/http handler slow, and
// returns its base URL and the count of requests each side served.
type served struct{ fast, slow atomic.Int64 }

func front(t *testing.T, slow http.HandlerFunc, o fastfront.Options) (string, *served) {
	t.Helper()
	var n served
	fast := func(ctx *fasthttp.RequestCtx, whole bool) bool {
		if string(ctx.Path()) != "/fast" || !whole {
			return false
		}
		n.fast.Add(1)
		ctx.SetContentType("text/plain")
		fmt.Fprintf(ctx, "fast %s %d", ctx.Method(), len(ctx.Request.Body()))
		return true
	}
	f := fastfront.New(fast, &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.slow.Add(1)
		slow(w, r)
	})}, o)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- f.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, f.Shutdown(ctx))
		require.ErrorIs(t, <-done, http.ErrServerClosed)
	})
	return "http://" + l.Addr().String(), &n
}

// echo answers with the request's method, path, body length and digest,
// and the client address it saw.
func echo(w http.ResponseWriter, r *http.Request) {
	h := sha256.New()
	n, err := io.Copy(h, r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	fmt.Fprintf(w, "slow %s %s %d %s %s", r.Method, r.URL.Path, n, hex.EncodeToString(h.Sum(nil)), r.RemoteAddr)
}

func digest(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func get(t *testing.T, c *http.Client, method, url string, body io.Reader, header ...string) string {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
	return string(b)
}

// dial opens a raw connection to the front at base, closed when the test
// ends, for requests no http.Client would send.
func dial(t *testing.T, base string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return conn
}

func client(t *testing.T) *http.Client {
	tr := &http.Transport{MaxConnsPerHost: 1, ExpectContinueTimeout: 5 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// The fast path answers what it takes; a declined request reaches
// net/http with its method, path and body intact, and so does every later
// request on that connection, which net/http now owns.
func TestADeclinedRequestTakesItsConnectionToNetHTTP(t *testing.T) {
	base, n := front(t, echo, fastfront.Options{})
	c := client(t)
	require.Equal(t, "fast POST 5", get(t, c, "POST", base+"/fast", strings.NewReader("hello")))
	require.Equal(t, "fast GET 0", get(t, c, "GET", base+"/fast", nil))
	got := get(t, c, "PUT", base+"/slow", strings.NewReader("hello"))
	require.True(t, strings.HasPrefix(got, "slow PUT /slow 5 "+digest([]byte("hello"))+" 127.0.0.1:"), got)
	// The same connection (one per host): now on net/http, /fast too.
	require.True(t, strings.HasPrefix(get(t, c, "GET", base+"/fast", nil), "slow GET /fast 0 "))
	require.EqualValues(t, 2, n.fast.Load())
	require.EqualValues(t, 2, n.slow.Load())
}

// A body longer than MaxBody is not read by the fast side: it streams to
// net/http, whole, whether its length is known, chunked or behind an
// Expect: 100-continue.
func TestLongBodiesStreamToNetHTTP(t *testing.T) {
	base, n := front(t, echo, fastfront.Options{MaxBody: 1 << 10})
	big := make([]byte, 3<<20+17)
	_, _ = rand.Read(big)
	want := fmt.Sprintf("slow POST /fast %d %s", len(big), digest(big))
	for _, tc := range []struct {
		name   string
		body   io.Reader
		header []string
	}{
		{"known length", bytes.NewReader(big), nil},
		{"chunked", io.MultiReader(bytes.NewReader(big[:1000]), bytes.NewReader(big[1000:])), nil}, // no length: chunked
		{"expect 100-continue", bytes.NewReader(big), []string{"Expect", "100-continue"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := get(t, client(t), "POST", base+"/fast", tc.body, tc.header...)
			require.True(t, strings.HasPrefix(got, want), "got %q, want %q", got, want)
		})
	}
	require.Zero(t, n.fast.Load())
}

// Requests pipelined behind a declined one are answered in order by
// net/http.
func TestPipelinedRequestsFollowTheHandOff(t *testing.T) {
	base, n := front(t, echo, fastfront.Options{})
	conn := dial(t, base)
	_, err := io.WriteString(conn, "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n"+
		"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"+
		"POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n1\r\nf\r\n0\r\n\r\n"+
		"GET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	require.NoError(t, err)
	r := bufio.NewReader(conn)
	var bodies []string
	for range 4 {
		resp, err := http.ReadResponse(r, nil)
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		resp.Body.Close()
		f := strings.Fields(string(b))
		bodies = append(bodies, strings.Join(f[:min(4, len(f))], " "))
	}
	require.Equal(t, []string{"fast GET 0", "slow POST /a 3", "slow POST /b 3", "slow GET /fast 0"}, bodies)
	require.EqualValues(t, 1, n.fast.Load())
	require.EqualValues(t, 3, n.slow.Load())
}

// A stream net/http serves reaches the client as it is written, not when
// the handler ends.
func TestAHandedOffStreamIsFlushed(t *testing.T) {
	release := make(chan struct{})
	base, _ := front(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
		fmt.Fprint(w, "data: last\n\n")
	}, fastfront.Options{})
	resp, err := client(t).Get(base + "/events")
	require.NoError(t, err)
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	line, err := r.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "data: first\n", line, "the first event arrives while the handler still runs")
	close(release)
	rest, err := io.ReadAll(r)
	require.NoError(t, err)
	require.Equal(t, "\ndata: last\n\n", string(rest))
}

// A head longer than MaxHeaderBytes is refused with 431 by the fast side,
// as net/http refuses one, and reaches neither handler.
func TestAnOversizedHeadIsRefused(t *testing.T) {
	base, n := front(t, echo, fastfront.Options{MaxHeaderBytes: 4 << 10})
	req, err := http.NewRequest("GET", base+"/fast", nil)
	require.NoError(t, err)
	req.Header.Set("X-Big", strings.Repeat("a", 8<<10))
	resp, err := client(t).Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)
	require.Zero(t, n.fast.Load()+n.slow.Load())
	// A head within the bound passes.
	req.Header.Set("X-Big", strings.Repeat("a", 2<<10))
	require.Equal(t, "fast GET 0", get(t, client(t), "GET", base+"/fast", nil, "X-Big", strings.Repeat("a", 2<<10)))
}

// Shutdown ends connections net/http still holds, idle or not, once its
// context ends, and Serve returns.
func TestShutdownClosesHandedOffConnections(t *testing.T) {
	var n served
	f := fastfront.New(func(*fasthttp.RequestCtx, bool) bool { return false }, &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.slow.Add(1)
		w.(http.Flusher).Flush()
		<-r.Context().Done() // a stream that never ends on its own
	})}, fastfront.Options{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- f.Serve(l) }()
	resp, err := client(t).Get("http://" + l.Addr().String() + "/stream")
	require.NoError(t, err)
	defer resp.Body.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err = f.Shutdown(ctx)
	require.True(t, errors.Is(err, context.DeadlineExceeded), "the stream outlived the grace period: %v", err)
	_, err = io.ReadAll(resp.Body)
	require.Error(t, err, "the connection was closed under the stream")
	require.ErrorIs(t, <-done, http.ErrServerClosed)
	require.EqualValues(t, 1, n.slow.Load())
}

// A client that stalls in the middle of a head, or of a body the fast
// side reads whole, loses its connection once the bound runs out, without
// reaching either handler.
func TestStalledRequestsAreCutOff(t *testing.T) {
	base, n := front(t, echo, fastfront.Options{HeaderTimeout: 200 * time.Millisecond, ReadTimeout: 400 * time.Millisecond})
	for _, partial := range []string{
		"GET /fast HTTP/1.1\r\nHost: x\r\n",                                // the head never ends
		"POST /fast HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhalf", // the body never ends
	} {
		conn := dial(t, base)
		_, err := io.WriteString(conn, partial)
		require.NoError(t, err)
		// The client's own deadline is far longer: the server must close first.
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
		_, err = io.ReadAll(conn)
		require.NoError(t, err, "the server closed the connection (EOF), %q", partial)
	}
	require.Zero(t, n.fast.Load()+n.slow.Load())
}

// A Host naming userinfo ("user@host", which RFC 9110 4.2.4 forbids on the
// wire) is refused with 400 and reaches neither handler, so it never
// reaches an upstream as X-Forwarded-Host, where a service building links
// from it would send its users to another host. fasthttp refuses it since
// v1.79.0; this test keeps a downgrade from passing unseen.
func TestAHostWithUserinfoIsRefused(t *testing.T) {
	base, n := front(t, echo, fastfront.Options{})
	for _, host := range []string{"user@example.com", "user:secret@127.0.0.1"} {
		conn := dial(t, base)
		_, err := io.WriteString(conn, "GET /fast HTTP/1.1\r\nHost: "+host+"\r\n\r\n")
		require.NoError(t, err)
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err, host)
		resp.Body.Close()
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, host)
	}
	require.Zero(t, n.fast.Load()+n.slow.Load())
	// The same request with a plain Host is served.
	require.Equal(t, "fast GET 0", get(t, client(t), "GET", base+"/fast", nil))
}
