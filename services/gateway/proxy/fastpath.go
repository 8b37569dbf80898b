package proxy

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/trace"

	"github.com/lattice-platform/lattice/pkg/events/schema"
	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/platform/clientaddr"
	"github.com/lattice-platform/lattice/pkg/platform/httpserver"
	"github.com/lattice-platform/lattice/pkg/platform/observe"
	"github.com/lattice-platform/lattice/pkg/platform/problem"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/gateway/domain"
	"github.com/lattice-platform/lattice/services/gateway/routing"
)

// FastPath serves on fasthttp (pkg/platform/fastfront, ADR 0044) the
// proxied requests that need only the common path: a clean path matching
// a plain route, a body read whole, no upgrade, no trace to continue, no
// browser origin to check. It does for them what the net/http stack does:
// the load shedder, panic recovery, the request id, the client address
// (trusted proxies included), the route's body cap, the credential check,
// both rate-limit budgets and their headers, forwarding with the pool's
// balancing and retries, problem+json refusals, metrics, the access log
// and the usage record. Everything else it declines, and net/http serves
// it.
type FastPath struct {
	Gateway *Gateway
	// Own reports the paths the gateway answers itself (its endpoints,
	// health probes and published specs): net/http's.
	Own     func(method, path string) bool
	Shed    *Shedder
	Metrics *observe.Metrics
	Log     *slog.Logger
	Proxies *clientaddr.Proxies
	// CORS says browser origins are configured: requests with an Origin
	// header then go to net/http's CORS handling.
	CORS bool

	peers peerAddrs
}

// peerAddrs keeps each connection's remote address as text for the
// requests after its first: they share it, and making it cost two
// allocations a request. A slot is the server's connection id modulo
// its size; a connection finding another's entry there makes its own.
type peerAddrs [256]atomic.Pointer[peerAddr]

type peerAddr struct {
	conn uint64
	text string
}

// of is c's remote address, host:port.
func (p *peerAddrs) of(c *fasthttp.RequestCtx) string {
	id := c.ConnID()
	slot := &p[id%uint64(len(p))]
	if e := slot.Load(); e != nil && e.conn == id {
		return e.text
	}
	text := c.RemoteAddr().String()
	slot.Store(&peerAddr{conn: id, text: text})
	return text
}

// Serve is the fastfront.Handler.
func (f *FastPath) Serve(ctx *fasthttp.RequestCtx, whole bool) bool {
	g := f.Gateway
	if !whole || g.fast == nil || g.legacy != nil || observe.TracesExported() {
		return false
	}
	hdr := readFastHeaders(&ctx.Request.Header)
	if len(hdr.upgrade) > 0 || len(hdr.traceparent) > 0 || f.CORS && len(hdr.origin) > 0 {
		return false
	}
	// The path routed on is the one forwarded: fasthttp's decoded and
	// normalised path must be the raw one, or the route could differ
	// from what the upstream sees.
	raw := ctx.URI().PathOriginal()
	if !bytes.Equal(ctx.Path(), raw) {
		return false
	}
	path := string(raw)
	method := string(ctx.Request.Header.Method())
	if f.Own(method, path) {
		return false
	}
	cfg := g.Routes()
	route, err := cfg.Table.Match(path)
	if err != nil || route.Shadow != nil || route.Migration != nil || route.Upstream == domain.LegacyUpstream {
		return false
	}
	f.serve(ctx, &hdr, method, path, route, cfg.Classes[route.Class])
	return true
}

// fastHeaders are the request headers the fast path reads, found in one
// pass over the parsed header. A Peek for each normalised its name and
// searched the headers again, about 390 instructions apiece six times a
// request (bench/gateway -callgrind).
type fastHeaders struct {
	upgrade, traceparent, origin, requestID, authorization, idempotencyKey []byte
}

// readFastHeaders reads them from h, as Peek would: the first value of
// each name, in any case as sent (the server stores names normalised).
func readFastHeaders(h *fasthttp.RequestHeader) fastHeaders {
	var f fastHeaders
	dst := [...]*[]byte{&f.upgrade, &f.traceparent, &f.origin, &f.requestID, &f.authorization, &f.idempotencyKey}
	var seen uint8
	for k, v := range h.All() {
		if i := fastHeaderIndex(k); i >= 0 && seen&(1<<i) == 0 {
			seen |= 1 << i
			*dst[i] = v
		}
	}
	return f
}

// fastHeaderIndex is the place of name among fastHeaders' fields, or -1.
// A switch, not a loop over the names: it tells a name in one dispatch
// on its length and bytes (23 ns for a request's headers against 40).
func fastHeaderIndex(name []byte) int {
	switch string(name) {
	case "Upgrade":
		return 0
	case "Traceparent":
		return 1
	case "Origin":
		return 2
	case "X-Request-Id":
		return 3
	case "Authorization":
		return 4
	case "Idempotency-Key":
		return 5
	}
	return -1
}

// The names the fast path sets, as fasthttp normalises them (each word
// capitalised, the rest lower case), for SetCanonical.
var (
	hdrRequestID       = []byte("X-Request-Id")
	hdrRateLimitPolicy = []byte("Ratelimit-Policy")
	hdrRateLimit       = []byte("Ratelimit")
	hdrForwardedFor    = []byte("X-Forwarded-For")
	hdrForwardedHost   = []byte("X-Forwarded-Host")
	hdrForwardedProto  = []byte("X-Forwarded-Proto")
	hdrTraceparent     = []byte("Traceparent")
)

// fastRequest is what a fast-path request learned, for its problem
// answers, metrics, access log and usage record.
type fastRequest struct {
	ctx      context.Context  // &ids, for logs and the checks
	ids      observe.Untraced // the request id and its trace
	id       string
	client   clientaddr.Client
	route    domain.Route
	class    routing.Class   // the route's rate-limit class, from the table the route came from
	who      *ports.Identity // &identity once verified
	identity ports.Identity
	method   string
	path     string
	start    time.Time
	admitted bool // holds a slot of the shedder
	answered bool // the upstream's answer is out, or will be: it finishes the request
	finished bool

	budgets [2]ports.RateBudget // lent to the budget charge
	// f and c are what AnswerSent finishes the request with.
	f *FastPath
	c *fasthttp.RequestCtx
}

// AnswerSent finishes the request once its answer is out: r is the
// fastupstream.Sent its answer is written with.
func (r *fastRequest) AnswerSent(sent int64) { r.f.finish(r.c, r, sent) }

func (f *FastPath) serve(c *fasthttp.RequestCtx, hdr *fastHeaders, method, path string, route domain.Route, class routing.Class) {
	// The server read the clock as the head came in: a read fewer.
	r := &fastRequest{route: route, class: class, method: method, path: path, start: c.Time(), f: f, c: c}
	r.id = httpserver.RequestIDOf(string(hdr.requestID))
	c.Response.Header.SetCanonical(hdrRequestID, []byte(r.id))
	sc := r.ids.Start(r.id)
	r.ctx = &r.ids
	r.client = f.Proxies.ResolvePeer(f.peers.of(c), false, func() http.Header { return forwardingHeaders(&c.Request.Header) })
	defer func() {
		if v := recover(); v != nil {
			f.Log.ErrorContext(r.ctx, "panic", "panic", fmt.Sprint(v))
			c.Response.Reset()
			c.Response.Header.Set("X-Request-ID", r.id)
			f.refuse(c, r, fmt.Errorf("panic: %v", v))
			r.answered = false
		}
		if !r.answered {
			f.finish(c, r, int64(len(c.Response.Body())))
		}
	}()
	if r.admitted = f.Shed.Admit(); !r.admitted {
		f.refuse(c, r, ErrBusy)
		return
	}
	if err := f.forward(c, hdr, r, sc); err != nil {
		f.refuse(c, r, err)
	}
}

// forward checks and charges the request and sends it upstream; an error
// is the refusal to answer with.
func (f *FastPath) forward(c *fasthttp.RequestCtx, hdr *fastHeaders, r *fastRequest, sc trace.SpanContext) error {
	g := f.Gateway
	limit := r.route.MaxBody
	if limit <= 0 {
		limit = g.maxBody
	}
	if n := int64(len(c.Request.Body())); n > limit {
		return fault.New(fault.TooLarge, fmt.Sprintf("request body exceeds %d bytes", limit))
	}
	var err error
	// The token is lent from the request's header for the check (the
	// verifier copies what it keeps): a copy would be its length again.
	token := unsafe.String(unsafe.SliceData(hdr.authorization), len(hdr.authorization))
	if r.who, _, err = g.verifyBearer(r.ctx, token, r.route.Auth, &r.identity); err != nil {
		return err
	}
	st, err := g.charge(r.ctx, r.budgets[:0], r.client.Addr, r.route.Class, r.class, r.who)
	if st.name != "" {
		var buf [128]byte
		b, policy := appendRateLimit(buf[:0], st)
		c.Response.Header.SetCanonical(hdrRateLimitPolicy, b[:policy])
		c.Response.Header.SetCanonical(hdrRateLimit, b[policy:])
	}
	if err != nil {
		return err
	}
	upstream := r.route.Upstream
	if r.route.Split != nil {
		callerKey := "ip:" + r.client.Addr
		if r.who != nil {
			callerKey = "id:" + r.who.Subject
		}
		upstream = r.route.UpstreamFor(callerKey)
	}
	if upstream == domain.Self {
		return domain.ErrNoRoute
	}
	replicas, ok := g.upstreams[upstream]
	if !ok {
		return fault.New(fault.Unavailable, "the "+upstream+" service is not available")
	}
	m := replicas.Pick(nil)
	if m == nil {
		return fault.New(fault.Unavailable, "the "+upstream+" service is not available")
	}
	// idempotent's rule, read from the client's headers before they
	// become the upstream's (hdr's bytes are theirs).
	repeatable := idempotentMethod(r.method) || len(hdr.idempotencyKey) > 0
	req := g.fast.UseRequest(&c.Request, clientContextHeaders...)
	defer req.Release()
	out := req.Header()
	// Set would normalise each name, a few hundred instructions apiece
	// (bench/gateway -callgrind): these are written as fasthttp keeps them.
	out.SetCanonical(hdrForwardedFor, []byte(r.client.Addr))
	out.SetCanonical(hdrForwardedHost, c.Host())
	if r.client.HTTPS {
		out.SetCanonical(hdrForwardedProto, []byte("https"))
	} else {
		out.SetCanonical(hdrForwardedProto, []byte("http"))
	}
	out.SetCanonical(hdrRequestID, []byte(r.id))
	var tp [55]byte
	out.SetCanonical(hdrTraceparent, observe.AppendTraceparent(tp[:0], sc))
	for {
		answer, err := g.fast.Send(req, m.URL, r.route.Timeout)
		status := 0
		if err == nil {
			status = answer.StatusCode()
		}
		if other := settle(m, status, err, repeatable, g.retried); other != nil {
			if err == nil {
				answer.Discard()
			}
			m = other
			continue
		}
		if err != nil {
			if isTimeout(err) {
				return fault.Wrap(fault.GatewayTimeout, "the upstream did not answer in time", err)
			}
			return fault.Wrap(fault.BadGateway, "the upstream is unreachable", err)
		}
		r.answered = true
		if err := answer.WriteTo(c, r); err != nil {
			// The upstream's body broke off before anything was sent: the
			// client gets a 502 rather than a cut answer.
			r.answered = false
			c.Response.Reset()
			c.Response.Header.Set("X-Request-ID", r.id)
			return fault.Wrap(fault.BadGateway, "the upstream's answer broke off", err)
		}
		return nil
	}
}

// refuse answers with the problem for err.
func (f *FastPath) refuse(c *fasthttp.RequestCtx, r *fastRequest, err error) {
	a := problem.Render(r.ctx, err, r.path, r.id)
	c.SetStatusCode(a.Status)
	if a.RetryAfter != "" {
		c.Response.Header.Set("Retry-After", a.RetryAfter)
	}
	if a.Authenticate != "" {
		c.Response.Header.Set("WWW-Authenticate", a.Authenticate)
	}
	c.Response.Header.Set("Cache-Control", "no-store")
	c.SetContentType(problem.ContentType)
	c.SetBody(a.Body)
}

// finish ends the request once its answer is out (sent bytes of body):
// its slot, metrics, access log line and usage record.
func (f *FastPath) finish(c *fasthttp.RequestCtx, r *fastRequest, sent int64) {
	if r.finished { // a panic after the answer was handed over
		return
	}
	r.finished = true
	if r.admitted {
		f.Shed.Done()
	}
	now := time.Now()
	took := now.Sub(r.start)
	status := c.Response.StatusCode()
	f.Metrics.Observe(routePattern(r.route.Prefix), r.method, status, took)
	httpserver.LogRequest(r.ctx, f.Log, httpserver.Request{Method: r.method, Path: r.path, Client: r.client.Addr, Status: status, Bytes: int(sent), Took: took, At: now})
	g := f.Gateway
	if g.usage == nil {
		return
	}
	rec := schema.UsageRecord{Route: r.route.Prefix, Method: r.method, Path: r.path, Status: status, LatencyMs: float64(took.Microseconds()) / 1000,
		BytesIn: int64(len(c.Request.Body())), BytesOut: sent, RequestId: r.id, Time: r.start.UTC()}
	if r.who != nil {
		rec.Identity, rec.ClientId = &r.who.Subject, &r.who.ClientID
	}
	g.usage.Record(rec)
}

// forwardingHeaders are the headers a trusted proxy's word is read from,
// as clientaddr reads them.
func forwardingHeaders(h *fasthttp.RequestHeader) http.Header {
	out := http.Header{}
	for _, k := range []string{"X-Forwarded-For", "Forwarded", "X-Forwarded-Proto"} {
		for _, v := range h.PeekAll(k) {
			out.Add(k, string(v))
		}
	}
	return out
}
