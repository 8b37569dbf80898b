package fastupstream_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/fastupstream"
	"github.com/lattice-platform/lattice/pkg/testinfra/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// front serves every request by forwarding it to target through c, as the
// gateway does, and answers 502 with the error's text when it cannot.
func front(t *testing.T, c *fastupstream.Client, target string, timeout time.Duration) *httptest.Server {
	t.Helper()
	u, err := url.Parse(target)
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := c.NewRequest(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		defer req.Release()
		a, err := c.Send(req, u, timeout)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		if err := a.Write(r.Context(), w); err != nil {
			panic(http.ErrAbortHandler)
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(c.CloseIdleConnections)
	return srv
}

func TestTheRequestAndTheAnswerPassAsSentLessHopByHopHeaders(t *testing.T) {
	t.Parallel()
	seen := make(chan *http.Request, 1)
	bodies := make(chan string, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seen <- r
		bodies <- string(b)
		w.Header().Set("Server", "upstream/1.0")
		w.Header().Add("Set-Cookie", "a=1")
		w.Header().Add("Set-Cookie", "b=2")
		w.Header().Set("Connection", "X-Hop")
		w.Header().Set("X-Hop", "must not pass")
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("X-Kept", "yes")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, "made")
	}))
	defer up.Close()
	c := fastupstream.New(fastupstream.Options{DropResponseHeaders: []string{"server"}})
	fr := front(t, c, up.URL, time.Second)

	req, err := http.NewRequest(http.MethodPost, fr.URL+"/v1/a%2Fb/c?x=1&y=%20", strings.NewReader(`{"n":1}`))
	require.NoError(t, err)
	req.Host = "api.example.test"
	req.Header.Set("Connection", "X-Client-Hop")
	req.Header.Set("X-Client-Hop", "strip me")
	req.Header.Set("Expect", "100-continue")
	req.Header.Add("X-Multi", "1")
	req.Header.Add("X-Multi", "2")
	req.Header.Set("User-Agent", "") // the Go client then sends none
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()

	r := <-seen
	assert.Equal(t, http.MethodPost, r.Method)
	assert.Equal(t, "/v1/a%2Fb/c?x=1&y=%20", r.RequestURI, "the path and query go as the client wrote them")
	assert.Equal(t, "api.example.test", r.Host)
	assert.Equal(t, []string{"1", "2"}, r.Header.Values("X-Multi"))
	assert.Empty(t, r.Header.Get("X-Client-Hop"))
	assert.Empty(t, r.Header.Get("Connection"))
	assert.Empty(t, r.Header.Get("Expect"))
	assert.NotContains(t, r.Header, "User-Agent", "no User-Agent of fasthttp's own")
	assert.EqualValues(t, 7, r.ContentLength)
	assert.Equal(t, `{"n":1}`, <-bodies)

	assert.Equal(t, http.StatusCreated, resp.StatusCode)
	assert.Equal(t, "made", string(body))
	assert.Equal(t, []string{"a=1", "b=2"}, resp.Header.Values("Set-Cookie"))
	assert.Equal(t, "yes", resp.Header.Get("X-Kept"))
	assert.Empty(t, resp.Header.Get("X-Hop"), "a header the Connection header names is dropped")
	assert.Empty(t, resp.Header.Get("Keep-Alive"))
	assert.Empty(t, resp.Header.Get("Server"), "a dropped header is dropped")
	assert.Equal(t, "4", resp.Header.Get("Content-Length"))
}

// TestATargetsBasePathAndQueryComeFirst: an upstream configured with a
// path of its own (a monolith under /api) gets it before the client's, as
// httputil.ReverseProxy's SetURL does.
func TestATargetsBasePathAndQueryComeFirst(t *testing.T) {
	t.Parallel()
	seen := make(chan string, 4)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen <- r.RequestURI }))
	defer up.Close()
	c := fastupstream.New(fastupstream.Options{})
	defer c.CloseIdleConnections()
	for _, tc := range []struct{ base, in, want string }{
		{"/api", "/v1/x?y=1", "/api/v1/x?y=1"},
		{"/api/", "/v1/a%2Fb", "/api/v1/a%2Fb"},
		{"/api/?k=v", "/v1/x?y=1", "/api/v1/x?k=v&y=1"},
		{"/?k=v", "/v1/x", "/v1/x?k=v"},
	} {
		target, err := url.Parse(up.URL + tc.base)
		require.NoError(t, err)
		req, err := c.NewRequest(httptest.NewRequest(http.MethodGet, tc.in, nil))
		require.NoError(t, err)
		a, err := c.Send(req, target, time.Second)
		require.NoError(t, err)
		a.Discard()
		req.Release()
		require.Equal(t, tc.want, <-seen, "%s + %s", tc.base, tc.in)
	}
}

func TestOnlyBodiesOfKnownLengthWithinTheBoundAreTaken(t *testing.T) {
	t.Parallel()
	c := fastupstream.New(fastupstream.Options{})
	for _, tc := range []struct {
		name   string
		length int64
		header http.Header
		want   bool
	}{
		{"no body", 0, nil, true},
		{"at the bound", fastupstream.MaxBufferedBody, nil, true},
		{"over the bound", fastupstream.MaxBufferedBody + 1, nil, false},
		{"unknown length", -1, nil, false},
		{"an upgrade", 0, http.Header{"Upgrade": {"websocket"}, "Connection": {"Upgrade"}}, false},
	} {
		r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(strings.Repeat("a", int(max(tc.length, 1)))))
		r.ContentLength = tc.length
		if tc.header != nil {
			r.Header = tc.header
		}
		assert.Equal(t, tc.want, fastupstream.Forwardable(r), tc.name)
		req, err := c.NewRequest(r)
		if tc.want {
			require.NoError(t, err, tc.name)
			req.Release()
		} else {
			require.ErrorIs(t, err, fastupstream.ErrUnsupported, tc.name)
		}
	}

	short := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader("abc"))
	short.ContentLength = 10
	_, err := c.NewRequest(short)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF, "a body shorter than its length is an error, not a short request")
}

func TestTheTimeoutBoundsTheHeadNotTheBody(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/late-head" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		_, _ = io.WriteString(w, "head")
		w.(http.Flusher).Flush()
		select {
		case <-time.After(300 * time.Millisecond): // three times the timeout
			_, _ = io.WriteString(w, " and tail")
		case <-r.Context().Done():
		}
	}))
	defer up.Close()
	defer close(release)
	c := fastupstream.New(fastupstream.Options{})
	fr := front(t, c, up.URL, 100*time.Millisecond)

	resp, err := http.Get(fr.URL + "/late-head")
	require.NoError(t, err)
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusBadGateway, resp.StatusCode)
	require.Contains(t, string(msg), "timeout")

	u, _ := url.Parse(up.URL)
	req, err := c.NewRequest(httptest.NewRequest(http.MethodGet, "/late-head", nil))
	require.NoError(t, err)
	defer req.Release()
	_, err = c.Send(req, u, 100*time.Millisecond)
	var te interface{ Timeout() bool }
	require.True(t, errors.As(err, &te) && te.Timeout(), "a late head is a timeout: %v", err)

	resp, err = http.Get(fr.URL + "/slow-body")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, "head and tail", string(body))
}

func TestARefusedConnectionIsADialError(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	u := &url.URL{Scheme: "http", Host: ln.Addr().String()}
	require.NoError(t, ln.Close())
	c := fastupstream.New(fastupstream.Options{})
	req, err := c.NewRequest(httptest.NewRequest(http.MethodGet, "/", nil))
	require.NoError(t, err)
	defer req.Release()
	_, err = c.Send(req, u, time.Second)
	var op *net.OpError
	require.ErrorAs(t, err, &op)
	require.Equal(t, "dial", op.Op, "the caller may send the request elsewhere: nothing reached the upstream")
}

func TestAnOversizedHeadIsRefused(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Huge", strings.Repeat("h", 40<<10))
		_, _ = io.WriteString(w, "x")
	}))
	defer up.Close()
	c := fastupstream.New(fastupstream.Options{})
	fr := front(t, c, up.URL, time.Second)
	resp, err := http.Get(fr.URL + "/")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadGateway, resp.StatusCode, "a head over 32 KiB is an upstream failure")
}

func TestAnAbandonedStreamClosesTheUpstreamConnection(t *testing.T) {
	t.Parallel()
	aborted := make(chan error, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: 1\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		aborted <- r.Context().Err()
	}))
	defer up.Close()
	c := fastupstream.New(fastupstream.Options{})
	fr := front(t, c, up.URL, time.Second)

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fr.URL+"/events", nil)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "data: 1\n", line, "the event arrives while the stream is open: it is flushed")
	cancel()
	resp.Body.Close()
	select {
	case err := <-aborted:
		require.Error(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream never saw the client leave")
	}
}

// rawUpstream serves HTTP/1.1 on a listener of its own and closes each
// connection after one request, without a Connection: close header. It
// writes answer, as it is, after the request; with answer "" it reads the
// request and closes without a word. Each request read is counted in served, and each closed
// connection reported on closed.
type rawUpstream struct {
	u      *url.URL
	served atomic.Int32
	closed chan struct{}
}

func startRawUpstream(t *testing.T, answer string) *rawUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	up := &rawUpstream{u: &url.URL{Scheme: "http", Host: ln.Addr().String()}, closed: make(chan struct{}, 64)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			r, err := http.ReadRequest(bufio.NewReader(conn))
			if err == nil {
				_, _ = io.Copy(io.Discard, r.Body)
				up.served.Add(1)
				_, _ = io.WriteString(conn, answer)
			}
			_ = conn.Close()
			up.closed <- struct{}{}
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); <-done })
	return up
}

// send sends method to up through c, with an Idempotency-Key when key is
// set, and reads the answer whole, so that its connection goes back to the
// pool.
func send(t *testing.T, c *fastupstream.Client, up *rawUpstream, method, key string) error {
	t.Helper()
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader("{}")
	}
	r := httptest.NewRequest(method, "/", body)
	if key != "" {
		r.Header.Set("Idempotency-Key", key)
	}
	req, err := c.NewRequest(r)
	require.NoError(t, err)
	defer req.Release()
	a, err := c.Send(req, up.u, 2*time.Second)
	if err != nil {
		return err
	}
	rec := httptest.NewRecorder()
	require.NoError(t, a.Write(context.Background(), rec))
	require.Equal(t, "ok", rec.Body.String())
	return nil
}

// TestAPooledConnectionTheUpstreamClosedIsNotUsed: the upstream closes each
// connection after its answer (as one that restarts, or closes idle
// connections, does). The next request, whatever its method, goes on a
// new connection, and reaches the upstream exactly once.
func TestAPooledConnectionTheUpstreamClosedIsNotUsed(t *testing.T) {
	t.Parallel()
	up := startRawUpstream(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	c := fastupstream.New(fastupstream.Options{})
	defer c.CloseIdleConnections()
	for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodPatch} {
		require.NoError(t, send(t, c, up, http.MethodGet, ""), "a first request pools a connection")
		<-up.closed // which the upstream has closed since
		before := up.served.Load()
		require.NoError(t, send(t, c, up, method, ""), "%s goes on a new connection", method)
		require.Equal(t, before+1, up.served.Load(), "%s reached the upstream once", method)
		<-up.closed
	}
}

// TestAGETOnPooledConnectionsTheUpstreamClosedGoesOnANewOne: the client
// pools more connections than fasthttp makes attempts, and the upstream
// closes them all. A GET right after is not peeked at; the first that
// fails on a closed one drops the others from the pool, and the GET
// reaches the upstream once, on a new connection.
func TestAGETOnPooledConnectionsTheUpstreamClosedGoesOnANewOne(t *testing.T) {
	t.Parallel()
	const pooled = 8 // fasthttp makes five attempts
	up := startGatheringUpstream(t, pooled)
	c := fastupstream.New(fastupstream.Options{})
	defer c.CloseIdleConnections()
	errs := make(chan error, pooled)
	for range pooled {
		go func() { errs <- get(c, up.u) }()
	}
	for range pooled {
		require.NoError(t, <-errs)
	}
	for range pooled {
		<-up.closed
	}
	before := up.served.Load()
	require.NoError(t, get(c, up.u), "the GET goes on a new connection")
	require.Equal(t, before+1, up.served.Load(), "and reaches the upstream once")
}

// get sends a GET to u through c and reads the answer whole, so that its
// connection goes back to the pool.
func get(c *fastupstream.Client, u *url.URL) error {
	req, err := c.NewRequest(httptest.NewRequest(http.MethodGet, "/", nil))
	if err != nil {
		return err
	}
	defer req.Release()
	a, err := c.Send(req, u, 2*time.Second)
	if err != nil {
		return err
	}
	rec := httptest.NewRecorder()
	if err := a.Write(context.Background(), rec); err != nil {
		return err
	}
	if rec.Body.String() != "ok" {
		return fmt.Errorf("answer %q", rec.Body.String())
	}
	return nil
}

// startGatheringUpstream is an answering rawUpstream that holds its first
// n requests until all n have arrived, so that a client has n connections
// open at once, and pools them all.
func startGatheringUpstream(t *testing.T, n int) *rawUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	up := &rawUpstream{u: &url.URL{Scheme: "http", Host: ln.Addr().String()}, closed: make(chan struct{}, 64)}
	var arrived, conns sync.WaitGroup
	arrived.Add(n)
	conns.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Go(func() {
				r, err := http.ReadRequest(bufio.NewReader(conn))
				if err == nil {
					_, _ = io.Copy(io.Discard, r.Body)
					if up.served.Add(1) <= int32(n) {
						arrived.Done()
						arrived.Wait()
					}
					_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				}
				_ = conn.Close()
				up.closed <- struct{}{}
			})
		}
	})
	t.Cleanup(func() { _ = ln.Close(); conns.Wait() })
	return up
}

// TestARequestTheUpstreamMayHaveSeenIsRepeatedOnlyWhenHarmless: the
// upstream reads each request and closes without answering. A GET is
// tried again; a POST without an Idempotency-Key is not, since the
// upstream may have acted on it; one with a key is.
func TestARequestTheUpstreamMayHaveSeenIsRepeatedOnlyWhenHarmless(t *testing.T) {
	t.Parallel()
	up := startRawUpstream(t, "")
	c := fastupstream.New(fastupstream.Options{})
	defer c.CloseIdleConnections()
	for _, tc := range []struct {
		method, key string
		repeated    bool
	}{
		{http.MethodGet, "", true},
		{http.MethodPost, "", false},
		{http.MethodPost, "k-1", true},
	} {
		before := up.served.Load()
		require.Error(t, send(t, c, up, tc.method, tc.key), "no answer ever comes")
		got := up.served.Load() - before
		if tc.repeated {
			require.Greater(t, got, int32(1), "%s %q is tried again", tc.method, tc.key)
		} else {
			require.Equal(t, int32(1), got, "%s without a key is sent once", tc.method)
		}
	}
}

func TestMutualTLS(t *testing.T) {
	t.Parallel()
	clientCert, clientPool := selfSigned(t, "gateway")
	seen := make(chan string, 1)
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.TLS.PeerCertificates[0].Subject.CommonName
		_, _ = io.WriteString(w, "secure")
	}))
	up.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clientPool}
	up.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes below are expected
	up.StartTLS()
	defer up.Close()
	roots := x509.NewCertPool()
	roots.AddCert(up.Certificate())

	c := fastupstream.New(fastupstream.Options{TLS: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{clientCert}, MinVersion: tls.VersionTLS12}})
	fr := front(t, c, up.URL, 2*time.Second)
	resp, err := http.Get(fr.URL + "/")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	require.Equal(t, "secure", string(body))
	require.Equal(t, "gateway", <-seen, "the upstream saw the client certificate")

	u, _ := url.Parse(up.URL)
	send := func(cfg *tls.Config) error {
		c := fastupstream.New(fastupstream.Options{TLS: cfg})
		defer c.CloseIdleConnections()
		req, err := c.NewRequest(httptest.NewRequest(http.MethodGet, "/", nil))
		require.NoError(t, err)
		defer req.Release()
		a, err := c.Send(req, u, 2*time.Second)
		if err == nil {
			a.Discard()
		}
		return err
	}
	// Without the client certificate the upstream refuses (under TLS 1.3
	// only after the client's side of the handshake, as with net/http).
	require.Error(t, send(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}))
	// An upstream whose certificate is not trusted fails the handshake,
	// before anything is sent: a dial error, which the gateway may take
	// to another replica.
	err = send(&tls.Config{Certificates: []tls.Certificate{clientCert}, MinVersion: tls.VersionTLS12})
	var op *net.OpError
	require.ErrorAs(t, err, &op)
	require.Equal(t, "dial", op.Op)
	var unknown x509.UnknownAuthorityError
	require.ErrorAs(t, err, &unknown)
}

// selfSigned makes a client certificate named cn and a pool that trusts it.
func selfSigned(t *testing.T, cn string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

// TestAReplicasConnectionsAreCapped: with every allowed connection busy, a
// request waits for one (up to its timeout) instead of opening another.
func TestAReplicasConnectionsAreCapped(t *testing.T) {
	t.Parallel()
	holding, release := make(chan struct{}), make(chan struct{})
	var conns atomic.Int32
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			close(holding)
			<-release
		}
		_, _ = io.WriteString(w, "ok")
	}))
	up.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	up.Start()
	defer up.Close()
	u, _ := url.Parse(up.URL)
	c := fastupstream.New(fastupstream.Options{MaxConnsPerHost: 1})
	defer c.CloseIdleConnections()
	get := func(path string, timeout time.Duration) error {
		req, err := c.NewRequest(httptest.NewRequest(http.MethodGet, path, nil))
		require.NoError(t, err)
		defer req.Release()
		a, err := c.Send(req, u, timeout)
		if err != nil {
			return err
		}
		return a.Write(context.Background(), httptest.NewRecorder())
	}
	held := make(chan error, 1)
	go func() { held <- get("/hold", 10*time.Second) }()
	<-holding
	err := get("/other", 200*time.Millisecond)
	var te interface{ Timeout() bool }
	require.True(t, errors.As(err, &te) && te.Timeout(), "the second request waited for the only connection: %v", err)
	close(release)
	require.NoError(t, <-held)
	require.NoError(t, get("/other", time.Second), "the connection is free again")
	require.EqualValues(t, 1, conns.Load(), "one connection, never a second")
}

// TestAnIdleConnectionIsClosedAfterTheIdleTimeout: the client, not the
// upstream, closes a pooled connection left idle past Options.IdleTimeout.
func TestAnIdleConnectionIsClosedAfterTheIdleTimeout(t *testing.T) {
	t.Parallel()
	closed := make(chan struct{}, 1)
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	up.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			closed <- struct{}{}
		}
	}
	up.Start()
	defer up.Close()
	u, _ := url.Parse(up.URL)
	c := fastupstream.New(fastupstream.Options{IdleTimeout: 100 * time.Millisecond})
	defer c.CloseIdleConnections()
	req, err := c.NewRequest(httptest.NewRequest(http.MethodGet, "/", nil))
	require.NoError(t, err)
	defer req.Release()
	a, err := c.Send(req, u, time.Second)
	require.NoError(t, err)
	require.NoError(t, a.Write(context.Background(), httptest.NewRecorder()), "read whole: the connection is pooled")
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the idle connection was never closed")
	}
}
