// Package fastfront serves HTTP/1.1 connections with fasthttp and passes
// every request its fast handler declines, with the rest of its
// connection, to a net/http server. The common request (a small proxied
// call) takes fasthttp's cheaper path; everything else (uploads, streams,
// composite endpoints, CORS, tracing) keeps net/http's full semantics,
// behind one port (ADR 0044).
//
// A declined request is replayed to net/http byte for byte where it can
// be: the request line and headers as received (less Expect, which
// fasthttp has already answered), then the body as it arrives, then
// whatever the client sends next. From then on net/http owns the
// connection; it never returns to the fast path.
package fastfront

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"slices"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/lattice-platform/lattice/pkg/platform/lazydeadline"
)

// Handler serves ctx and reports true, or reports false having written
// nothing; the request then goes to net/http. whole reports whether the
// body was read (it is at most Options.MaxBody long): when it was not, it
// is still on the wire, for net/http, and a Handler that needs it must
// decline. Asking ctx for it would read it all into memory.
type Handler func(ctx *fasthttp.RequestCtx, whole bool) bool

// Options bound what the fast side reads. Zero values take the defaults.
type Options struct {
	// MaxBody is the largest body read whole before Handler sees the
	// request (default 64 KiB). A longer or chunked one is not read: it
	// streams to net/http if Handler declines.
	MaxBody int
	// MaxHeaderBytes bounds the request line and headers (default 64 KiB);
	// a longer head is refused with 431, as net/http refuses one.
	MaxHeaderBytes int
	// HeaderTimeout bounds reading a request's head (default 5 s);
	// ReadTimeout, reading the head and a body read whole (default 30 s);
	// IdleTimeout, the wait for the next request on a kept-alive
	// connection (default 120 s); WriteTimeout, writing an answer
	// (default 60 s). A request handed to net/http has net/http's.
	HeaderTimeout, ReadTimeout, IdleTimeout, WriteTimeout time.Duration
	// Logger gets fasthttp's own complaints (default slog.Default()).
	Logger *slog.Logger
}

// Front is the two servers behind one listener.
type Front struct {
	fast    Handler
	maxBody int
	slow    *http.Server
	srv     *fasthttp.Server
	handed  *listener
	// conns are the connections handed to net/http, closed on Shutdown
	// if net/http has not closed them by then.
	mu    sync.Mutex
	conns map[*handedConn]struct{}
}

// New returns a front that serves with fast, and with slow whatever fast
// declines. slow's Handler, timeouts and ErrorLog apply to the requests
// it gets; its TLSConfig does not (the front serves clear text: put TLS
// in front of it or serve TLS with net/http alone).
func New(fast Handler, slow *http.Server, o Options) *Front {
	o.MaxBody = cmp.Or(o.MaxBody, 64<<10)
	o.MaxHeaderBytes = cmp.Or(o.MaxHeaderBytes, 64<<10)
	o.HeaderTimeout = cmp.Or(o.HeaderTimeout, 5*time.Second)
	o.ReadTimeout = cmp.Or(o.ReadTimeout, 30*time.Second)
	o.IdleTimeout = cmp.Or(o.IdleTimeout, 120*time.Second)
	o.WriteTimeout = cmp.Or(o.WriteTimeout, 60*time.Second)
	log := cmp.Or(o.Logger, slog.Default())
	f := &Front{fast: fast, maxBody: o.MaxBody, slow: slow, handed: newListener(), conns: map[*handedConn]struct{}{}}
	f.srv = &fasthttp.Server{
		Handler: f.serve,
		// No Server header and no guessed Content-Type, as net/http.
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
		ReadBufferSize:        o.MaxHeaderBytes,
		MaxRequestBodySize:    o.MaxBody,
		StreamRequestBody:     true, // a body over MaxBody is left on the wire for net/http
		// Multipart bodies are net/http's to parse, as it streams them.
		DisablePreParseMultipartForm: true,
		KeepHijackedConns:            true,
		ReadTimeout:                  o.HeaderTimeout,
		// A body gets the longer bound once the head is in; a request
		// without one costs no second deadline. A request with neither
		// Content-Length nor chunked framing has no body (RFC 9112,
		// 6.3): fasthttp says -2 for it.
		HeaderReceived: func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
			if n := h.ContentLength(); n > 0 || n == -1 {
				return fasthttp.RequestConfig{ReadTimeout: o.ReadTimeout}
			}
			return fasthttp.RequestConfig{}
		},
		IdleTimeout:     o.IdleTimeout,
		WriteTimeout:    o.WriteTimeout,
		CloseOnShutdown: true,
		Logger:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return f
}

// Serve serves l until Shutdown; it returns http.ErrServerClosed then.
func (f *Front) Serve(l net.Listener) error {
	f.handed.addr = l.Addr()
	slow := make(chan error, 1)
	go func() { slow <- f.slow.Serve(f.handed) }()
	// fasthttp sets three deadlines a request (the wait for it, its head,
	// its answer), each later than the last time's: lazily, they cost no
	// timer operation.
	err := f.srv.Serve(lazydeadline.Listener(l))
	f.handed.Close()
	if serr := <-slow; !errors.Is(serr, http.ErrServerClosed) && !errors.Is(serr, net.ErrClosed) {
		return serr
	}
	if err != nil {
		return err
	}
	return http.ErrServerClosed
}

// Shutdown stops accepting, lets both servers finish their requests in
// flight until ctx ends, then closes what is left.
func (f *Front) Shutdown(ctx context.Context) error {
	var wg sync.WaitGroup
	var fastErr, slowErr error
	wg.Go(func() { fastErr = f.srv.ShutdownWithContext(ctx) })
	wg.Go(func() { slowErr = f.slow.Shutdown(ctx) })
	wg.Wait()
	f.mu.Lock()
	for c := range f.conns {
		_ = c.Close()
	}
	f.mu.Unlock()
	return errors.Join(fastErr, slowErr)
}

// serve runs the fast handler and hands what it declines to net/http.
func (f *Front) serve(ctx *fasthttp.RequestCtx) {
	n := ctx.Request.Header.ContentLength()
	whole := n != -1 && n <= f.maxBody
	if whole && n > 0 {
		// fasthttp has read the body but keeps it behind a stream, and
		// warns on every Body() of a stream: give the handler the bytes.
		bp := bodies.Get().(*[]byte)
		b := slices.Grow((*bp)[:0], n)[:n]
		if _, err := io.ReadFull(ctx.RequestBodyStream(), b); err != nil {
			bodies.Put(bp)
			ctx.SetConnectionClose()
			ctx.SetStatusCode(fasthttp.StatusBadRequest)
			return
		}
		ctx.Request.SetBodyRaw(b)
		if f.fast(ctx, true) {
			*bp = b
			bodies.Put(bp) // the handler is done with the body: the answer is written from ctx.Response
			return
		}
		// Declined: the body goes to net/http from b, which is not recycled.
	} else {
		if whole {
			ctx.Request.ResetBody() // drops the empty body's stream, which Body() would warn of
		}
		if f.fast(ctx, whole) {
			return
		}
	}
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(c net.Conn) { f.handOff(ctx, c) })
}

// bodies recycles the buffers whole bodies are read into.
var bodies = sync.Pool{New: func() any { return new([]byte) }}

// handOff gives net/http the connection c, starting with ctx's request,
// and waits until net/http is done with it: the request's body stream
// belongs to ctx, which fasthttp recycles when this returns.
func (f *Front) handOff(ctx *fasthttp.RequestCtx, c net.Conn) {
	hc := &handedConn{Conn: c, r: io.MultiReader(bytes.NewReader(head(&ctx.Request.Header)), body(ctx), c), done: make(chan struct{})}
	f.mu.Lock()
	f.conns[hc] = struct{}{}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.conns, hc)
		f.mu.Unlock()
	}()
	if !f.handed.give(hc) {
		_ = hc.Close()
		return
	}
	<-hc.done
}

// head is the request line and headers as received, less Expect: fasthttp
// has sent 100 Continue already, and a second one would be read as the
// answer by some clients.
func head(h *fasthttp.RequestHeader) []byte {
	b := make([]byte, 0, len(h.RawHeaders())+len(h.RequestURI())+32)
	b = append(b, h.Method()...)
	b = append(b, ' ')
	b = append(b, h.RequestURI()...)
	b = append(b, ' ')
	b = append(b, h.Protocol()...)
	b = append(b, "\r\n"...)
	for k, v := range h.AllInOrder() {
		if bytes.EqualFold(k, []byte("Expect")) {
			continue
		}
		b = append(b, k...)
		b = append(b, ": "...)
		b = append(b, v...)
		b = append(b, "\r\n"...)
	}
	return append(b, "\r\n"...)
}

// body is the request's body in the framing its headers announce: as it
// came for a known length, chunked again for a chunked one (fasthttp has
// undone the chunking; trailers are not passed on).
func body(ctx *fasthttp.RequestCtx) io.Reader {
	n := ctx.Request.Header.ContentLength()
	switch {
	case n > 0:
		if s := ctx.RequestBodyStream(); s != nil {
			return io.LimitReader(s, int64(n))
		}
		return bytes.NewReader(ctx.Request.Body()) // read whole before the handler
	case n == -1:
		pr, pw := io.Pipe()
		go func() {
			cw := httputil.NewChunkedWriter(pw)
			_, err := io.Copy(cw, ctx.RequestBodyStream())
			if err == nil {
				err = cw.Close()
			}
			if err == nil {
				_, err = pw.Write([]byte("\r\n")) // the chunked body's final CRLF, after the last (empty) chunk
			}
			pw.CloseWithError(err)
		}()
		return pr
	}
	return bytes.NewReader(nil)
}

// handedConn is a connection net/http reads through the replay.
type handedConn struct {
	net.Conn
	r    io.Reader
	once sync.Once
	done chan struct{}
}

func (c *handedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (c *handedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { close(c.done) })
	return err
}

// listener is what net/http accepts handed-off connections from.
type listener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
	addr   net.Addr
}

func newListener() *listener {
	return &listener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

// give passes c to net/http; false when the listener is closed.
func (l *listener) give(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.closed:
		return false
	}
}

func (l *listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *listener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *listener) Addr() net.Addr { return l.addr }
