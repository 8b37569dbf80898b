// Package fastupstream forwards a server's requests to HTTP/1.1 upstreams
// over pooled valyala/fasthttp connections, writing each answer straight to
// the net/http ResponseWriter it came for.
//
// It exists for the gateway's hot path (ADR 0032): net/http's Transport
// spends a read and a write goroutine, a header map and a Response per
// request, which on two cores cost as much CPU as everything else the
// gateway does. Here the request head is copied into a reused fasthttp
// request (a fasthttp server's request is sent itself), the answer's head
// is read into a reused fasthttp response, and its body streams through a
// pooled buffer.
//
// What it keeps of a reverse proxy: hop-by-hop headers (and those the
// Connection header names) are dropped both ways; the answer's body
// streams, and a stream (no Content-Length) is flushed at every read; the
// timeout bounds the wait for the answer's head only; a request a client
// abandons while its answer streams closes the upstream connection.
// What it does not do, so callers route such requests elsewhere (see
// Forwardable): request bodies it would have to stream (unknown length or
// over MaxBufferedBody), protocol upgrades, trailers, and 1xx answers,
// which it reads past.
package fastupstream

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/lattice-platform/lattice/pkg/platform/lazydeadline"
)

// MaxBufferedBody is the largest request body NewRequest takes: it reads the
// body before sending, so that a request whose connection failed can go to
// another replica, and so that an upstream's early answer cannot be lost
// while the body is still being written.
const MaxBufferedBody = 64 << 10

// maxResponseHead bounds an answer's status line and headers.
const maxResponseHead = 32 << 10

// Options configures a Client.
type Options struct {
	// TLS configures connections to https targets (client certificates,
	// roots); nil: the system's roots.
	TLS *tls.Config
	// MaxConnsPerHost caps each replica's connections (default 1024);
	// a request finding them all busy waits up to its timeout for one.
	MaxConnsPerHost int
	// IdleTimeout closes connections idle this long (default 30 s, below
	// the services' own idle timeout, so the client closes first).
	IdleTimeout time.Duration
	// DropResponseHeaders are removed from every answer (canonical form).
	DropResponseHeaders []string
}

// Client forwards requests; it is safe for concurrent use.
type Client struct {
	opts  Options
	drop  nameSet
	plain sync.Map // host → *fasthttp.HostClient
	tls   sync.Map
}

// New returns a client.
func New(o Options) *Client {
	if o.MaxConnsPerHost <= 0 {
		o.MaxConnsPerHost = 1024
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 30 * time.Second
	}
	c := &Client{opts: o, drop: nameSet{set: map[string]bool{}}}
	for _, h := range o.DropResponseHeaders {
		c.drop.add(textproto.CanonicalMIMEHeaderKey(h))
	}
	return c
}

// nameSet is a set of canonical header names. A mask of their lengths
// and last bytes answers first: most names an answer carries are not in
// the set, and the mask says so without hashing the name (a map lookup
// for each of an answer's headers was 0.6 % of the gateway's
// instructions, bench/gateway -callgrind).
type nameSet struct {
	mask uint64
	set  map[string]bool
}

func (s *nameSet) add(k string) {
	s.set[k] = true
	s.mask |= nameBit(k)
}

func (s *nameSet) has(k []byte) bool { return s.mask&nameBit(k) != 0 && s.set[string(k)] }

// nameBit is k's bit in a nameSet's mask.
func nameBit[T ~string | ~[]byte](k T) uint64 {
	if len(k) == 0 {
		return 1
	}
	return 1 << ((len(k) + 7*int(k[len(k)-1])) & 63)
}

// CloseIdleConnections closes every pooled connection not in use.
func (c *Client) CloseIdleConnections() {
	for _, m := range []*sync.Map{&c.plain, &c.tls} {
		m.Range(func(_, v any) bool {
			v.(*fasthttp.HostClient).CloseIdleConnections()
			return true
		})
	}
}

// Forwardable reports whether NewRequest can take r: a body of known length
// up to MaxBufferedBody, no protocol upgrade.
func Forwardable(r *http.Request) bool {
	if r.ContentLength < 0 || r.ContentLength > MaxBufferedBody {
		return false
	}
	_, upgrade := r.Header["Upgrade"]
	return !upgrade
}

// ErrUnsupported is NewRequest's answer to a request Forwardable refuses.
var ErrUnsupported = errors.New("fastupstream: the request needs a streaming transport")

// Request is a request ready to send, to one replica or, after a failed
// connection, another; Release it once done.
type Request struct {
	req *fasthttp.Request
	// in is the client's URL, joined to a target's base path. It is nil
	// exactly for a server's request sent as it is (UseRequest): that
	// request's own URI is joined and put back at each Send, and the
	// request is the server's to release.
	in *url.URL
}

// NewRequest copies r for sending: its method, URI, Host and headers less
// the hop-by-hop ones, and its body, read whole. r.Header must already be
// what the upstream should see (the caller's X-Forwarded-* and trace
// headers included). It fails with ErrUnsupported for a request
// Forwardable refuses, and with the read's error for a body that could not
// be read.
func (c *Client) NewRequest(r *http.Request) (Request, error) {
	if !Forwardable(r) {
		return Request{}, ErrUnsupported
	}
	req := fasthttp.AcquireRequest()
	if err := fill(req, r); err != nil {
		fasthttp.ReleaseRequest(req)
		return Request{}, err
	}
	return Request{req: req, in: r.URL}, nil
}

// Release returns the request's buffers; a server's request (UseRequest)
// stays the server's.
func (r Request) Release() {
	if r.in != nil {
		fasthttp.ReleaseRequest(r.req)
	}
}

// Answer is an upstream's answer whose head has arrived; its body is still
// on the connection. Write it or Discard it, once.
type Answer struct {
	c    *Client
	resp *fasthttp.Response
}

// StatusCode is the upstream's status.
func (a Answer) StatusCode() int { return a.resp.StatusCode() }

// Send sends req to target's scheme and host and waits up to timeout for
// the answer's head. A connection that could not be made fails with the
// dialer's *net.OpError (Op "dial"), so the caller knows the upstream saw
// nothing; a timeout fails with an error whose Timeout method reports true.
func (c *Client) Send(req Request, target *url.URL, timeout time.Duration) (Answer, error) {
	hc := c.hostClient(target)
	if target.Path != "" && target.Path != "/" || target.RawQuery != "" {
		in := req.in
		if in == nil {
			// A server's request: its URI is the client's until the join,
			// and again after the send, so that a request sent again
			// starts from it (and the server's request is left as read).
			uri := string(req.req.Header.RequestURI())
			u, err := url.ParseRequestURI(uri)
			if err != nil {
				return Answer{}, errors.New("fastupstream: the request URI does not parse")
			}
			in = u
			defer req.req.SetRequestURI(uri)
		}
		req.req.SetRequestURI(joinURL(target, in))
	}
	resp := fasthttp.AcquireResponse()
	resp.Header.SetNoDefaultContentType(true)
	var err error
	if timeout > 0 {
		err = hc.DoTimeout(req.req, resp, timeout)
	} else {
		err = hc.Do(req.req, resp)
	}
	if err != nil {
		fasthttp.ReleaseResponse(resp)
		return Answer{}, err
	}
	// The timeout bounded the head; the body streams for as long as it
	// takes (a download, a stream of events), ended by the client going
	// away instead.
	if a, ok := resp.LocalAddr().(*connAddr); ok {
		_ = a.conn.SetReadDeadline(time.Time{})
	}
	return Answer{c: c, resp: resp}, nil
}

// fill copies r into req.
func fill(req *fasthttp.Request, r *http.Request) error {
	req.Header.SetMethod(r.Method)
	req.SetRequestURI(r.URL.RequestURI())
	req.Header.SetHost(r.Host)
	connection := r.Header["Connection"]
	for k, vs := range r.Header {
		if hopByHop(k) || listed(connection, k) {
			continue
		}
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	// The body is read whole (it is at most MaxBufferedBody): a request
	// whose connection failed can then be sent again.
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	n, err := io.CopyBuffer(req.BodyWriter(), io.LimitReader(r.Body, r.ContentLength), *buf)
	if err != nil {
		return err
	}
	if n != r.ContentLength {
		return io.ErrUnexpectedEOF
	}
	return nil
}

// joinURL is the request URI for in sent to target, a base URL with a
// path or a query of its own: the paths joined with one slash, the
// queries with "&", as httputil.ReverseProxy's SetURL does.
func joinURL(target, in *url.URL) string {
	u := *in
	base, path := target.EscapedPath(), in.EscapedPath()
	switch {
	case strings.HasSuffix(base, "/") && strings.HasPrefix(path, "/"):
		path = base + path[1:]
	case !strings.HasSuffix(base, "/") && !strings.HasPrefix(path, "/"):
		path = base + "/" + path
	default:
		path = base + path
	}
	u.RawPath = path
	u.Path, _ = url.PathUnescape(path)
	switch {
	case target.RawQuery == "":
	case in.RawQuery == "":
		u.RawQuery = target.RawQuery
	default:
		u.RawQuery = target.RawQuery + "&" + in.RawQuery
	}
	return u.RequestURI()
}

// Discard releases the answer without writing it; its connection closes
// unless the body had nothing left to read.
func (a Answer) Discard() {
	_ = a.resp.CloseBodyStream()
	fasthttp.ReleaseResponse(a.resp)
}

// Write writes the answer to w and releases it. The head goes first,
// without hop-by-hop headers and those the Options drop; the body then
// streams, flushed at every read when it is a stream. ctx ending closes
// the upstream connection, so an abandoned stream does not hold it. An
// error means w has an incomplete answer.
func (a Answer) Write(ctx context.Context, w http.ResponseWriter) error {
	defer fasthttp.ReleaseResponse(a.resp)
	resp := a.resp
	a.c.copyHead(w.Header(), &resp.Header)
	w.WriteHeader(resp.StatusCode())
	body := resp.BodyStream()
	if body == nil {
		return nil
	}
	length := resp.Header.ContentLength()
	stream := length < 0 || strings.HasPrefix(string(resp.Header.ContentType()), "text/event-stream")
	if stream || length > MaxBufferedBody {
		// Only answers that may take long to read pay for the watch.
		if closer, ok := body.(fasthttp.ReadCloserWithError); ok {
			stop := context.AfterFunc(ctx, func() { _ = closer.CloseWithError(context.Canceled) })
			defer stop()
		}
	}
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	var flush func() error
	if stream {
		flush = http.NewResponseController(w).Flush
	}
	err := copyBody(w, body, *buf, flush)
	if closeErr := resp.CloseBodyStream(); err == nil && ctx.Err() != nil {
		err = ctx.Err()
	} else if err == nil {
		err = closeErr
	}
	return err
}

// copyBody copies the body to w, calling flush after every write when it
// is not nil.
func copyBody(w io.Writer, body io.Reader, buf []byte, flush func() error) error {
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			if flush != nil {
				if ferr := flush(); ferr != nil {
					return ferr
				}
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// copyHead adds the answer's end-to-end headers to dst.
func (c *Client) copyHead(dst http.Header, h *fasthttp.ResponseHeader) {
	// One backing array for every value's slice, and the common names
	// interned: a small answer's head costs a string per value.
	values := make([]string, 0, h.Len())
	connection := h.Peek("Connection")
	for k, v := range h.All() {
		key, ok := commonHeaders[string(k)]
		if !ok {
			key = string(k)
		}
		if hopByHop(key) || c.drop.has(k) || len(connection) > 0 && listedIn(string(connection), key) {
			continue
		}
		values = append(values, string(v))
		if old, ok := dst[key]; ok {
			dst[key] = append(old, values[len(values)-1])
			continue
		}
		dst[key] = values[len(values)-1 : len(values) : len(values)]
	}
}

// commonHeaders interns the names most answers carry (in canonical form,
// which is fasthttp's normalised form too).
var commonHeaders = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{"Accept-Ranges", "Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language",
		"Content-Length", "Content-Range", "Content-Security-Policy", "Content-Type", "Date", "Etag", "Expires", "Last-Modified",
		"Link", "Location", "Ratelimit", "Ratelimit-Policy", "Referrer-Policy", "Retry-After", "Server", "Set-Cookie",
		"Strict-Transport-Security", "Vary", "Www-Authenticate", "X-Content-Type-Options", "X-Frame-Options", "X-Request-Id"} {
		m[k] = k
	}
	return m
}()

// hopByHop reports the headers that describe one connection, not the
// message (RFC 9110, 7.6.1), by canonical name.
//
// A switch, not a search of hopByHopNames: it tells a name in one
// dispatch on its length and bytes, for every header of every request
// and answer.
func hopByHop(k string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer",
		"Transfer-Encoding", "Upgrade", "Expect":
		return true
	}
	return false
}

// hopByHopNames are those headers. Expect is among them: the body is
// already read, so there is nothing to continue.
var hopByHopNames = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer",
	"Transfer-Encoding", "Upgrade", "Expect"}

// listed reports whether a Connection header's values name k.
func listed[T ~string | ~[]byte](connection []T, k T) bool {
	for _, v := range connection {
		if listedIn(string(v), string(k)) {
			return true
		}
	}
	return false
}

func listedIn(v, k string) bool {
	for f := range strings.SplitSeq(v, ",") {
		if f = textproto.TrimString(f); f != "" && strings.EqualFold(f, k) {
			return true
		}
	}
	return false
}

// hostClient is the pool for target's scheme and host.
func (c *Client) hostClient(target *url.URL) *fasthttp.HostClient {
	m, secure := &c.plain, target.Scheme == "https"
	if secure {
		m = &c.tls
	}
	if hc, ok := m.Load(target.Host); ok {
		return hc.(*fasthttp.HostClient)
	}
	addr := target.Host
	if target.Port() == "" {
		addr = net.JoinHostPort(target.Hostname(), "80")
		if secure {
			addr = net.JoinHostPort(target.Hostname(), "443")
		}
	}
	hc := &fasthttp.HostClient{
		Addr:                          addr,
		MaxConns:                      c.opts.MaxConnsPerHost,
		MaxConnWaitTimeout:            10 * time.Second,
		MaxIdleConnDuration:           c.opts.IdleTimeout,
		ReadBufferSize:                maxResponseHead,
		NoDefaultUserAgentHeader:      true,
		DisableHeaderNamesNormalizing: false,
		// The path goes upstream exactly as the client sent it.
		DisablePathNormalizing: true,
		StreamResponseBody:     true,
	}
	// A request goes again on a new connection when the pooled one was
	// found closed before anything was sent on it; after a failure past
	// that point, only when repeating it is harmless, as net/http does.
	// Once one pooled connection is found closed (an upstream restarted,
	// or closed its idle connections), the others likely are too: found
	// by the peek, or by a repeatable request that went out without one
	// (trackedConn).
	hc.RetryIfErr = func(req *fasthttp.Request, _ int, err error) (bool, bool) {
		stale := errors.Is(err, errStale)
		if !stale && closedByPeer(err) {
			hc.CloseIdleConnections()
		}
		return false, stale || replayable(req)
	}
	hc.DialTimeout = func(addr string, timeout time.Duration) (net.Conn, error) {
		return c.dial(addr, timeout, secure, hc.CloseIdleConnections)
	}
	actual, _ := m.LoadOrStore(target.Host, hc)
	return actual.(*fasthttp.HostClient)
}

// closedByPeer reports the errors of a request that went out on a
// connection the upstream had closed.
func closedByPeer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, fasthttp.ErrConnectionClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func replayable(req *fasthttp.Request) bool {
	return repeatableMethod(req.Header.Method()) || len(req.Header.Peek("Idempotency-Key")) > 0
}

// repeatableMethod reports the methods a request may be sent twice by
// (RFC 9110, 9.2.2).
func repeatableMethod(method []byte) bool {
	switch string(method) {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// dial connects to addr, completing the TLS handshake for an https target,
// so that every failure before the request is written is a dial error.
func (c *Client) dial(addr string, timeout time.Duration, secure bool, onStale func()) (net.Conn, error) {
	if timeout <= 0 || timeout > 10*time.Second {
		timeout = 10 * time.Second
	}
	d := net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	raw, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	// Each request sets a write and a read deadline and lifts the read
	// one after the head: lazily, they cost no timer operation.
	conn := newTrackedConn(lazydeadline.New(raw), onStale)
	if !secure {
		conn.watch()
		return conn, nil
	}
	cfg := &tls.Config{}
	if c.opts.TLS != nil {
		cfg = c.opts.TLS.Clone()
	}
	if cfg.ServerName == "" {
		host, _, _ := net.SplitHostPort(addr)
		cfg.ServerName = host
	}
	tc := tls.Client(conn, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = raw.Close()
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: raw.RemoteAddr(), Err: err}
	}
	conn.watch()
	return tc, nil
}

// trackedConn is a connection to an upstream as the client pools it.
//
// It lets Send find the connection an answer came on, through the local
// address fasthttp keeps with the answer, to lift the read deadline that
// bounded the head before the body streams.
//
// It also checks a pooled connection before a request is written on it.
// net/http watches every idle connection with a goroutine, so one the
// upstream closed (a restart, its idle timeout) leaves the pool at once;
// fasthttp finds out only by using it, and then cannot tell whether the
// upstream saw the request, so a POST would fail. Here the first write of
// each request after an answer was read peeks at the socket: a closed
// connection fails that write with errStale, nothing sent, and the request
// goes again on a new one whatever its method. A repeatable request (GET,
// HEAD, PUT, DELETE, OPTIONS, TRACE) on a connection that carried one less
// than peekAfter ago is not peeked at: if the upstream closed it, the
// request fails unseen and goes again anyway (RetryIfErr), and no upstream
// closes a connection, or answers unasked, that soon after an answer
// unless it is going away. The peek is a system call per request.
type trackedConn struct {
	net.Conn
	self connAddr
	raw  syscall.RawConn // nil: the connection cannot be peeked at
	peek func(fd uintptr) bool
	// watching is set once the connection carries requests (after the TLS
	// handshake); used once an answer has been read since the last write.
	watching, used bool
	closed         bool      // the last peek's finding
	sent           time.Time // when the last request went out
	onStale        func()
}

// peekAfter is how long after a request a repeatable one goes out on the
// same connection without a peek.
const peekAfter = time.Second

// errStale fails a write on a pooled connection the upstream had closed:
// nothing was sent.
var errStale = errors.New("fastupstream: the upstream had closed the pooled connection")

func newTrackedConn(raw net.Conn, onStale func()) *trackedConn {
	c := &trackedConn{Conn: raw, onStale: onStale}
	c.self = connAddr{Addr: raw.LocalAddr(), conn: c}
	if sc, ok := raw.(syscall.Conn); ok {
		c.raw, _ = sc.SyscallConn()
	}
	c.peek = c.peekAt // bound once: no allocation per check
	return c
}

// watch starts the checks: requests go on this connection from now on.
func (c *trackedConn) watch() { c.watching, c.used, c.sent = true, false, time.Now() }

func (c *trackedConn) LocalAddr() net.Addr { return &c.self }

func (c *trackedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.used = c.watching
	return n, err
}

func (c *trackedConn) Write(p []byte) (int, error) {
	if c.used {
		c.used = false
		now := time.Now()
		recent := now.Sub(c.sent) < peekAfter
		c.sent = now
		if !(recent && repeatableHead(p)) && c.stale() {
			if c.onStale != nil {
				c.onStale()
			}
			return 0, errStale
		}
	}
	return c.Conn.Write(p)
}

// stale reports whether the upstream has closed the connection, or sent
// something no request asked for, which makes it as unusable.
func (c *trackedConn) stale() bool {
	if c.raw == nil {
		return false
	}
	c.closed = false
	if err := c.raw.Read(c.peek); err != nil {
		// A deadline left on the connection stops the peek before it
		// looks: then the write finds out, as it would unchecked.
		return !errors.Is(err, os.ErrDeadlineExceeded)
	}
	return c.closed
}

// repeatableHead reports whether p, the start of a request, is one of a
// method that may be sent twice (replayable's, but for a POST with an
// Idempotency-Key, which is peeked at anyway).
func repeatableHead(p []byte) bool {
	// An encrypted head (TLS) has no method to read: it is peeked at.
	i := bytes.IndexByte(p[:min(len(p), len("OPTIONS "))], ' ')
	if i < 0 {
		return false
	}
	return repeatableMethod(p[:i])
}

// connAddr is the local address of a trackedConn, which it leads back to.
type connAddr struct {
	net.Addr
	conn *trackedConn
}

// copyBuffers recycles the 32 KiB buffers bodies are copied through.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}
