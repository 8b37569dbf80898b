// Package proxy is the gateway's request path: match the route, check the
// credential the route demands, spend rate-limit budgets, and forward the
// request to the upstream with httputil.ReverseProxy, streaming bodies both
// ways. Every refusal is problem+json.
package proxy

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lattice-platform/lattice/pkg/access"
	"github.com/lattice-platform/lattice/pkg/adapters/fastupstream"
	"github.com/lattice-platform/lattice/pkg/events/schema"
	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/platform/apimw"
	"github.com/lattice-platform/lattice/pkg/platform/clientaddr"
	"github.com/lattice-platform/lattice/pkg/platform/observe"
	"github.com/lattice-platform/lattice/pkg/platform/problem"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/gateway/domain"
	"github.com/lattice-platform/lattice/services/gateway/legacysession"
	"github.com/lattice-platform/lattice/services/gateway/pool"
	"github.com/lattice-platform/lattice/services/gateway/routing"
)

// Gateway is the proxying handler. Its route table can be swapped while
// it serves (SIGHUP reload); requests in flight keep the table they
// started with.
type Gateway struct {
	routes atomic.Pointer[routing.Config] // the table in force: the file's, with the migration states applied
	// base is the file's table and states the migration routes' states;
	// setMu orders their changes, each of which rebuilds routes.
	setMu     sync.Mutex
	base      routing.Config
	states    map[string]domain.MigrationState
	upstreams map[string]*pool.Pool
	verifier  ports.TokenVerifier
	limiter   ports.RateLimiter
	// budgetKeys holds the limiter's keys made lately.
	budgetKeys *budgetKeys
	log        *slog.Logger
	// proxies holds one *httputil.ReverseProxy per upstream timeout. A
	// sync.Map because it is read on every request and written only the
	// first time a timeout is seen, so reads never contend on a lock.
	proxies sync.Map
	maxBody int64
	usage   UsageRecorder
	shadow  *shadower
	// transport is the base every upstream connection is made with (nil:
	// http.DefaultTransport's settings).
	transport   *http.Transport
	poolMetrics *poolMetrics
	limited     *prometheus.CounterVec // refusals by class and budget; nil: not counted
	limiterDown prometheus.Counter
	legacy      LegacyExchanger
	canaries    CanaryObserver
	// fast, when set, carries the requests it can (fastupstream.Forwardable)
	// instead of the reverse proxy (ADR 0032).
	fast *fastupstream.Client
}

// UseFastUpstream makes the gateway send every request fastupstream can
// carry through c; the rest (streamed bodies, upgrades, shadowed reads)
// keep the reverse proxy. Call it before serving.
func (g *Gateway) UseFastUpstream(c *fastupstream.Client) { g.fast = c }

// CanaryObserver receives each answer of a migration route in its canary
// phase: which side gave it, its status and how long it took.
type CanaryObserver interface {
	Observe(route domain.Route, lattice bool, status int, latency time.Duration)
}

// ObserveCanaries reports canary answers to o; call it before serving.
func (g *Gateway) ObserveCanaries(o CanaryObserver) { g.canaries = o }

// LegacyExchanger exchanges a session token of the system Lattice
// replaces for a Lattice access token (services/gateway/legacysession).
type LegacyExchanger interface {
	// Exchange returns the Lattice token, legacysession.ErrRejected for a
	// token auth refused, or another error when it could not ask.
	Exchange(ctx context.Context, legacy string) (string, error)
}

// AcceptLegacySessions makes the gateway take, where a Lattice credential
// fails, the replaced system's session tokens (a migration's cut-over):
// each is exchanged, the Lattice token goes upstream in its place, and
// the client gets it in the legacysession.Header response header. Call it
// before serving.
func (g *Gateway) AcceptLegacySessions(x LegacyExchanger) { g.legacy = x }

// UseTransport makes upstream connections from base (TLS and the client
// certificate, when configured); call it before serving.
func (g *Gateway) UseTransport(base *http.Transport) { g.transport = base }

// upstreamTransport is a copy of the transport upstream connections are
// made from (UseTransport's, else Go's default), for a caller that tunes
// its own pool or timeouts.
func (g *Gateway) upstreamTransport() *http.Transport {
	if g.transport != nil {
		return g.transport.Clone()
	}
	return http.DefaultTransport.(*http.Transport).Clone()
}

// UsageRecorder receives one record per request; it must not block.
type UsageRecorder interface {
	Record(schema.UsageRecord)
}

// SetUsage makes the gateway report every request to rec.
func (g *Gateway) SetUsage(rec UsageRecorder) { g.usage = rec }

// New returns a gateway over the given upstreams (name → replicas' base
// URLs).
func New(cfg routing.Config, upstreams map[string][]*url.URL, verifier ports.TokenVerifier, limiter ports.RateLimiter, maxBody int64, log *slog.Logger) *Gateway {
	g := &Gateway{upstreams: map[string]*pool.Pool{}, verifier: verifier, limiter: limiter, log: log, maxBody: maxBody, budgetKeys: newBudgetKeys()}
	for name, urls := range upstreams {
		p := pool.New(name, urls)
		p.OnEject = g.ejected
		g.upstreams[name] = p
	}
	g.SetRoutes(cfg)
	return g
}

// SetRoutes swaps the route table atomically; migration routes keep
// their states.
func (g *Gateway) SetRoutes(cfg routing.Config) {
	g.setMu.Lock()
	defer g.setMu.Unlock()
	g.base = cfg
	g.applyLocked()
}

// SetMigrationStates applies the migration routes' states (route prefix
// → state; a route without one is in the legacy phase).
func (g *Gateway) SetMigrationStates(states map[string]domain.MigrationState) {
	g.setMu.Lock()
	defer g.setMu.Unlock()
	g.states = maps.Clone(states)
	g.applyLocked()
}

func (g *Gateway) applyLocked() {
	cfg := g.base
	cfg.Table = cfg.Table.WithStates(g.states)
	g.routes.Store(&cfg)
}

// Routes returns the table in use.
func (g *Gateway) Routes() routing.Config { return *g.routes.Load() }

// BodyLimit is the per-route body cap for the server's MaxBody middleware.
func (g *Gateway) BodyLimit(r *http.Request) int64 {
	if route, err := g.Routes().Table.Match(r.URL.Path); err == nil && route.MaxBody > 0 {
		return route.MaxBody
	}
	return g.maxBody
}

type routeKey struct{}

// ServeHTTP proxies r to its route's upstream.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) { g.handle(w, r, nil) }

// Local makes h, an endpoint the gateway answers itself (a composite),
// take the same path as proxied requests up to the upstream: route match,
// credential check, rate limits, usage. h finds the caller with
// access.CallerFrom.
func (g *Gateway) Local(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { g.handle(w, r, h) })
}

// handle serves r: by local when it is not nil, else by the upstream.
func (g *Gateway) handle(w http.ResponseWriter, r *http.Request, local http.Handler) {
	if g.usage == nil && g.canaries == nil {
		g.serve(w, r, nil, local)
		return
	}
	start := time.Now()
	ww := observe.Measured(w, r)
	var body *countingBody
	if r.Body != nil && r.Body != http.NoBody {
		body = &countingBody{ReadCloser: r.Body}
		r.Body = body
	}
	var seen served
	g.serve(ww, r, &seen, local)
	rec := schema.UsageRecord{
		Route: seen.route, Method: r.Method, Path: r.URL.Path, Status: ww.Status(), LatencyMs: float64(time.Since(start).Microseconds()) / 1000,
		BytesIn: body.count(), BytesOut: int64(ww.BytesWritten()), RequestId: observe.RequestID(r.Context()), Time: start.UTC(),
	}
	if rec.Status == 0 {
		rec.Status = http.StatusOK
	}
	if seen.canary != nil {
		g.canaries.Observe(*seen.canary, seen.upstream == seen.canary.Migration.Lattice, rec.Status, time.Since(start))
	}
	if g.usage == nil {
		return
	}
	if seen.id != nil {
		rec.Identity, rec.ClientId = &seen.id.Subject, &seen.id.ClientID
	}
	g.usage.Record(rec)
}

// served is what the request path learned, for the usage record and the
// canary guard.
type served struct {
	route    string
	id       *ports.Identity
	upstream string
	canary   *domain.Route // the route, when it is a migration in its canary phase
}

type countingBody struct {
	io.ReadCloser
	n int64
}

// count is the bytes read; 0 for a request without a body (nil).
func (c *countingBody) count() int64 {
	if c == nil {
		return 0
	}
	return c.n
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n += int64(n)
	return n, err
}

func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, seen *served, local http.Handler) {
	cfg := g.Routes()
	route, err := cfg.Table.Match(r.URL.Path)
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	if seen != nil {
		seen.route = route.Prefix
	}
	// Label metrics by route prefix rather than the catch-all pattern.
	if rc := chi.RouteContext(r.Context()); rc != nil {
		rc.RoutePatterns = append(rc.RoutePatterns[:0], routePattern(route.Prefix))
	}
	id, latticeToken, err := g.identify(w, r, route)
	if latticeToken != "" {
		r = r.WithContext(context.WithValue(r.Context(), latticeTokenKey{}, latticeToken))
	}
	if seen != nil {
		seen.id = id
	}
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	if err := g.spend(w, r, route.Class, cfg.Classes[route.Class], id); err != nil {
		problem.Write(w, r, err)
		return
	}
	if local != nil {
		ctx := r.Context()
		if id != nil {
			ctx = access.WithCaller(ctx, access.Caller{Subject: id.Subject, Scopes: id.Scopes, Credential: apimw.BearerOf(r)})
		}
		local.ServeHTTP(w, r.WithContext(ctx))
		return
	}
	upstream := route.Upstream
	if route.Split != nil {
		callerKey := "ip:" + clientIP(r)
		if id != nil {
			callerKey = "id:" + id.Subject
		}
		upstream = route.UpstreamFor(callerKey)
	}
	if upstream == domain.Self {
		problem.Write(w, r, domain.ErrNoRoute)
		return
	}
	forUpstream(r, upstream)
	if seen != nil && g.canaries != nil && route.Migration != nil && route.State.Phase == domain.PhaseCanary {
		seen.upstream, seen.canary = upstream, &route
	}
	replicas, ok := g.upstreams[upstream]
	if !ok {
		problem.Write(w, r, fault.New(fault.Unavailable, "the "+upstream+" service is not available"))
		return
	}
	member := replicas.Pick(nil)
	// Only reads are shadowed: a copy of a write would write twice.
	if route.Shadow != nil && g.shadow != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		if target, ok := g.upstreams[route.Shadow.Upstream]; ok && route.Shadow.Upstream != upstream {
			ctx := context.WithValue(r.Context(), routeKey{}, member)
			g.shadow.serve(w, r.WithContext(ctx), route, target.Pick(nil).URL, g.proxyFor(route.Timeout))
			return
		}
	}
	if g.fast != nil && member != nil && fastupstream.Forwardable(r) {
		g.forwardFast(w, r, member, route.Timeout)
		return
	}
	ctx := context.WithValue(r.Context(), routeKey{}, member)
	g.proxyFor(route.Timeout).ServeHTTP(w, r.WithContext(ctx))
}

// identify checks the bearer credential as the route demands. The
// original Authorization header is forwarded either way (services verify
// tokens themselves too), except that a legacy session exchanged for a
// Lattice token (the string returned) reaches Lattice's upstreams as that.
func (g *Gateway) identify(w http.ResponseWriter, r *http.Request, route domain.Route) (*ports.Identity, string, error) {
	id, asked, err := g.verifyBearer(r.Context(), r.Header.Get("Authorization"), route.Auth, nil)
	if asked && err != nil && fault.Of(err, fault.Unauthenticated) && (g.legacy != nil || route.Upstream == domain.LegacyUpstream) {
		return g.identifyLegacy(w, r, route, err)
	}
	return id, "", err
}

// verifyBearer checks the Authorization header h as a route with auth
// demands: the identity, written into dst (a new one if dst is nil), or
// nil for none. asked says the verifier judged the credential (a missing
// or malformed header is refused before).
func (g *Gateway) verifyBearer(ctx context.Context, h string, auth domain.AuthMode, dst *ports.Identity) (id *ports.Identity, asked bool, err error) {
	if auth == domain.Public {
		return nil, false, nil
	}
	if h == "" {
		if auth == domain.AuthRequired {
			return nil, false, fault.New(fault.Unauthenticated, "a valid bearer credential is required")
		}
		return nil, false, nil
	}
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return nil, false, fault.New(fault.Unauthenticated, "the Authorization header must carry a bearer credential")
	}
	verified, err := g.verifier.Verify(ctx, apimw.Bearer(h))
	if err != nil {
		return nil, true, err
	}
	if dst == nil {
		dst = new(ports.Identity)
	}
	*dst = verified
	return dst, true, nil
}

// identifyLegacy handles a bearer token Lattice does not know: during a
// migration it may be a session of the system being replaced. It is
// exchanged for a Lattice token when the gateway may (AcceptLegacySessions);
// the Lattice token, returned, then goes to Lattice upstreams and to the
// client, while the legacy upstream keeps getting its own token. A
// token nobody vouches for is refused as the Lattice check refused it
// (notLattice), except on a route the legacy upstream serves, which judges
// its own tokens: there the caller passes on, unidentified. An exchange
// that could not be made is a 503, so an auth outage never looks like a
// logout.
func (g *Gateway) identifyLegacy(w http.ResponseWriter, r *http.Request, route domain.Route, notLattice error) (*ports.Identity, string, error) {
	if g.legacy == nil {
		return nil, "", nil // route.Upstream is legacy
	}
	token, err := g.legacy.Exchange(r.Context(), apimw.BearerOf(r))
	switch {
	case errors.Is(err, legacysession.ErrRejected) && route.Upstream == domain.LegacyUpstream:
		return nil, "", nil
	case errors.Is(err, legacysession.ErrRejected):
		return nil, "", notLattice
	case err != nil:
		g.log.WarnContext(r.Context(), "legacy session exchange failed", "error", err)
		return nil, "", fault.New(fault.Unavailable, "the session could not be checked; try again")
	}
	id, err := g.verifier.Verify(r.Context(), token)
	if err != nil {
		return nil, "", err
	}
	w.Header().Set(legacysession.Header, token)
	return &id, token, nil
}

// latticeTokenKey carries the Lattice token a legacy session was exchanged
// for, to the upstreams that are Lattice's.
type latticeTokenKey struct{}

// forUpstream gives r the credential upstream takes: the Lattice token a
// legacy session was exchanged for, unless upstream is the legacy system.
func forUpstream(r *http.Request, upstream string) {
	if token, ok := r.Context().Value(latticeTokenKey{}).(string); ok && upstream != domain.LegacyUpstream {
		r.Header.Set("Authorization", "Bearer "+token)
	}
}

// spend charges the client address and, when known, the identity; the
// response carries the tighter of the two budgets in the IETF RateLimit
// headers.
func (g *Gateway) spend(w http.ResponseWriter, r *http.Request, className string, class routing.Class, id *ports.Identity) error {
	st, err := g.charge(r.Context(), nil, clientIP(r), className, class, id)
	if st.name != "" {
		setRateLimitHeaders(w.Header(), st)
	}
	return err
}

// rateState is the tighter budget after a charge: its name (per-ip or
// per-identity; "" when the limiter did not answer), limit and decision.
type rateState struct {
	name  string
	limit ports.RateLimit
	d     ports.RateDecision
}

// charge charges the client address ip and, when known, the identity, and
// returns the tighter budget, with the refusal when it refused.
//
// into, when it has room for two, holds the budgets: a caller with a
// request on the heap already lends it, where a slice of charge's own
// would be an allocation a request, since the limiter is an interface.
func (g *Gateway) charge(ctx context.Context, into []ports.RateBudget, ip, className string, class routing.Class, id *ports.Identity) (rateState, error) {
	// Each class keeps its own budgets: with one key for all, a client
	// that used up a tight class (credentials) would find its address
	// limited on every other route too, by that class's rate.
	if cap(into) < 2 {
		into = make([]ports.RateBudget, 0, 2)
	}
	budgets := append(into[:0], ports.RateBudget{Key: g.budgetKeys.key("ip:", className, ip), Limit: class.PerIP})
	if id != nil {
		budgets = append(budgets, ports.RateBudget{Key: g.budgetKeys.key("id:", className, id.Subject), Limit: class.PerIdentity})
	}
	// Both budgets in one call: one round trip when the limits are in Redis.
	decisions, err := ports.AllowEach(ctx, g.limiter, budgets)
	if err != nil {
		// A limiter outage must not take the API down: admit and log.
		g.log.WarnContext(ctx, "rate limiter unavailable; admitting", "error", err)
		if g.limiterDown != nil {
			g.limiterDown.Inc()
		}
		return rateState{}, nil
	}
	names := [2]string{"per-ip", "per-identity"}
	var st rateState
	for i, d := range decisions {
		if i == 0 || !d.Allowed || d.Remaining < st.d.Remaining && st.d.Allowed {
			st = rateState{name: names[i], limit: budgets[i].Limit, d: d}
		}
	}
	if !st.d.Allowed {
		if g.limited != nil {
			g.limited.WithLabelValues(className, st.name).Inc()
		}
		return st, &fault.Error{Kind: fault.RateLimited, Message: "rate limit exceeded (" + st.name + ")", RetryAfterSeconds: ceilSeconds(st.d.RetryAfter)}
	}
	return st, nil
}

// EnableLimitMetrics counts rate-limit refusals, by route class and the
// budget that refused (per-ip, per-identity), as
// lattice_gateway_rate_limited_total, and requests admitted because the
// limiter did not answer as lattice_gateway_limiter_unavailable_total.
func (g *Gateway) EnableLimitMetrics(reg prometheus.Registerer) error {
	limited := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lattice_gateway_rate_limited_total",
		Help: "Requests refused with 429, by route class and the budget that refused (per-ip, per-identity)."}, []string{"class", "budget"})
	down := prometheus.NewCounter(prometheus.CounterOpts{Name: "lattice_gateway_limiter_unavailable_total",
		Help: "Requests admitted without a rate-limit decision because the limiter did not answer."})
	for _, c := range []prometheus.Collector{limited, down} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	g.limited, g.limiterDown = limited, down
	return nil
}

// setRateLimitHeaders writes the IETF RateLimit-Policy and RateLimit
// headers for st. Both values are cut from one string, and their slices
// from one array: two allocations, where formatting each part apart cost
// eight on every request.
func setRateLimitHeaders(h http.Header, st rateState) {
	var buf [128]byte
	b, policy := appendRateLimit(buf[:0], st)
	both := string(b)
	values := new([2]string)
	values[0], values[1] = both[:policy], both[policy:]
	h["Ratelimit-Policy"] = values[0:1:1]
	h["Ratelimit"] = values[1:2:2]
}

// appendRateLimit appends st's RateLimit-Policy value and then its
// RateLimit value to b, and returns where the second begins.
func appendRateLimit(b []byte, st rateState) ([]byte, int) {
	start := len(b)
	b = append(b, '"')
	b = append(b, st.name...)
	b = append(b, `";q=`...)
	b = strconv.AppendInt(b, int64(st.limit.Burst), 10)
	b = append(b, ";w="...)
	b = strconv.AppendInt(b, int64(st.limit.Period.Seconds()), 10)
	policy := len(b) - start
	b = append(b, '"')
	b = append(b, st.name...)
	b = append(b, `";r=`...)
	b = strconv.AppendInt(b, int64(st.d.Remaining), 10)
	b = append(b, ";t="...)
	b = strconv.AppendInt(b, int64(ceilSeconds(st.d.ResetAfter)), 10)
	return b, policy
}

func ceilSeconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	return max(s, 0)
}

// clientIP is the client's address: the direct peer, unless the gateway is
// configured to sit behind trusted proxies (GATEWAY_TRUSTED_PROXIES).
func clientIP(r *http.Request) string { return clientaddr.From(r).Addr }

// proxyFor returns the reverse proxy whose transport waits at most timeout
// for response headers (bodies then stream without a deadline).
func (g *Gateway) proxyFor(timeout time.Duration) *httputil.ReverseProxy {
	if p, ok := g.proxies.Load(timeout); ok {
		return p.(*httputil.ReverseProxy)
	}
	base := g.upstreamTransport()
	base.ResponseHeaderTimeout = timeout
	base.MaxIdleConnsPerHost = 256
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(pr.In.Context().Value(routeKey{}).(*pool.Member).URL)
			pr.Out.Host = pr.In.Host // upstreams see the public host
			setContext(pr.Out.Header, pr.In)
			observe.PropagateHTTP(pr.In.Context(), pr.Out.Header)
		},
		Transport: observe.TraceSampledTransport(balanced{next: base, retried: g.retried}),
		// 0: a response of known length leaves in as few writes as the
		// server's buffer allows (one, for small answers); the proxy still
		// flushes every write of a stream (no Content-Length, or
		// text/event-stream). -1 here flushed headers and body apart, two
		// writes for every small answer.
		FlushInterval: 0,
		BufferPool:    copyBuffers,
		ErrorHandler:  upstreamFailed,
		ModifyResponse: func(resp *http.Response) error {
			for _, h := range DroppedResponseHeaders {
				resp.Header.Del(h)
			}
			return nil
		},
	}
	// Two first requests may race to build one; the loser's proxy has
	// opened no connections and is dropped.
	actual, _ := g.proxies.LoadOrStore(timeout, p)
	return actual.(*httputil.ReverseProxy)
}

// DroppedResponseHeaders are removed from every upstream answer: the
// gateway answers with the request's id itself, and names no server.
var DroppedResponseHeaders = []string{"Server", "X-Request-Id"}

// setContext writes what the upstream is told of the request into h: the
// client's resolved address and scheme, the public host, and the request's
// id. The services trust the gateway's word for the client: one address,
// not the chain the client may have forged, so whatever the client sent
// under these names has been dropped before.
func setContext(h http.Header, in *http.Request) {
	client := clientaddr.From(in)
	// One array for the three values' slices.
	values := &[3]string{client.Addr, in.Host, observe.RequestID(in.Context())}
	h["X-Forwarded-For"] = values[0:1:1]
	h["X-Forwarded-Host"] = values[1:2:2]
	if client.HTTPS {
		h["X-Forwarded-Proto"] = forwardedHTTPS
	} else {
		h["X-Forwarded-Proto"] = forwardedHTTP
	}
	if values[2] != "" {
		h["X-Request-Id"] = values[2:3:3]
	}
}

// upstreamFailed answers a request no upstream answered.
func upstreamFailed(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, context.Canceled):
		return // the client went away; there is no one to answer
	case isTimeout(err):
		problem.Write(w, r, fault.Wrap(fault.GatewayTimeout, "the upstream did not answer in time", err))
		return
	}
	problem.Write(w, r, fault.Wrap(fault.BadGateway, "the upstream is unreachable", err))
}

// The X-Forwarded-Proto values, shared read-only by every outbound request
// instead of allocated for each.
var (
	forwardedHTTPS = []string{"https"}
	forwardedHTTP  = []string{"http"}
)

// copyBuffers recycles the 32 KiB buffers the proxy copies bodies through;
// without it every request allocates one.
var copyBuffers = &bufferPool{pool: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}

type bufferPool struct{ pool sync.Pool }

func (p *bufferPool) Get() []byte  { return *p.pool.Get().(*[]byte) }
func (p *bufferPool) Put(b []byte) { p.pool.Put(&b) }

// isTimeout reports a wait that ran out: net/http's and fasthttp's
// timeouts (the latter has only a Timeout method) and a context deadline.
func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout() || errors.Is(err, context.DeadlineExceeded)
}

// routePatterns holds each route prefix's metrics label, formatted once
// rather than on every request; it grows only with the prefixes of the
// route tables loaded.
var routePatterns sync.Map // prefix → "prefix/*"

// routePattern is the label requests to the route with prefix are
// counted under: "/v1/resources/*" for "/v1/resources".
func routePattern(prefix string) string {
	if p, ok := routePatterns.Load(prefix); ok {
		return p.(string)
	}
	p, _ := routePatterns.LoadOrStore(prefix, strings.TrimSuffix(prefix, "/")+"/*")
	return p.(string)
}
