package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/lattice-platform/lattice/pkg/adapters/tokenbucket"
	"github.com/lattice-platform/lattice/pkg/adapters/tokenverify"
	"github.com/lattice-platform/lattice/pkg/platform/logwriter"
	"github.com/lattice-platform/lattice/pkg/ports"
)

// serveFastGateway is the fast-gw floor: what a gateway whose server side
// were fasthttp too could reach, before any of its middleware. On fasthttp
// on both sides it does the work the gateway does on every proxied
// request and that no design can drop: the bearer token checked by the
// gateway's own verifier (EdDSA, auth's JWKS, the verified-token cache),
// both budgets charged on the gateway's in-process limiter, a request id
// and X-Forwarded-For sent upstream, and one JSON access-log line through
// the gateway's batching log writer. It leaves out metrics, tracing,
// usage records, load shedding, route matching and the hop-by-hop header
// handling a real proxy needs, so the gateway on fasthttp would be slower
// than this, not faster.
func serveFastGateway(addr string, upstream *url.URL, authURL, issuer string) error {
	logs := logwriter.New(os.Stdout, 0) // the harness points it at a file in its lab
	defer logs.Close()
	budget := ports.RateLimit{Rate: 1_000_000_000, Period: time.Second, Burst: 1_000_000_000}
	h := fastGateway(upstream, authURL+"/.well-known/jwks.json", issuer, budget, slog.New(slog.NewJSONHandler(logs, nil)))
	return fasthttp.ListenAndServe(addr, h)
}

// fastGateway is serveFastGateway's handler, each budget being limit.
func fastGateway(upstream *url.URL, jwksURL, issuer string, limit ports.RateLimit, log *slog.Logger) fasthttp.RequestHandler {
	verifier := tokenverify.New(tokenverify.Config{Issuer: issuer, Audience: "lattice",
		Fetch: tokenverify.FetchJWKS(jwksURL, &http.Client{Timeout: 10 * time.Second})})
	limiter := tokenbucket.New()
	client := &fasthttp.HostClient{Addr: upstream.Host, MaxConns: 256}
	var seq atomic.Uint64
	bearer := []byte("Bearer ")
	return func(ctx *fasthttp.RequestCtx) {
		start := time.Now()
		if string(ctx.Path()) == "/readyz" {
			return // 200: listening
		}
		token, ok := bytes.CutPrefix(ctx.Request.Header.Peek("Authorization"), bearer)
		if !ok {
			ctx.Error("a bearer token is required", fasthttp.StatusUnauthorized)
			return
		}
		id, err := verifier.Verify(context.Background(), string(token))
		if err != nil {
			ctx.Error("the token is not valid", fasthttp.StatusUnauthorized)
			return
		}
		ip := ctx.RemoteIP().String()
		budgets := [2]ports.RateBudget{{Key: "ip:" + ip, Limit: limit}, {Key: "id:" + id.Subject, Limit: limit}}
		decisions, err := ports.AllowEach(ctx, limiter, budgets[:])
		if err != nil || len(decisions) < 2 || !decisions[1].Allowed {
			ctx.Error("too many requests", fasthttp.StatusTooManyRequests)
			return
		}
		rid := strconv.FormatUint(seq.Add(1), 36)
		ctx.Request.Header.Set("X-Request-ID", rid)
		ctx.Request.Header.Set("X-Forwarded-For", ip)
		ctx.Request.Header.Del("Authorization")
		if err := client.Do(&ctx.Request, &ctx.Response); err != nil {
			ctx.Error("the upstream is unreachable", fasthttp.StatusBadGateway)
		}
		log.LogAttrs(ctx, slog.LevelInfo, "request", slog.String("method", string(ctx.Method())),
			slog.String("path", string(ctx.Path())), slog.Int("status", ctx.Response.StatusCode()),
			slog.Duration("duration", time.Since(start)), slog.String("request_id", rid),
			slog.String("subject", id.Subject), slog.String("peer", ip))
	}
}
