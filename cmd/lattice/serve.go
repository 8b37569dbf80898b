package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	goredis "github.com/redis/go-redis/v9"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/lattice-platform/lattice/pkg/adapters/fsblob"
	"github.com/lattice-platform/lattice/pkg/adapters/hashembed"
	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	"github.com/lattice-platform/lattice/pkg/adapters/openaiembed"
	redisadapter "github.com/lattice-platform/lattice/pkg/adapters/redis"
	"github.com/lattice-platform/lattice/pkg/adapters/s3blob"
	"github.com/lattice-platform/lattice/pkg/adapters/tokenbucket"
	"github.com/lattice-platform/lattice/pkg/adapters/tokenverify"
	"github.com/lattice-platform/lattice/pkg/platform/config"
	"github.com/lattice-platform/lattice/pkg/platform/httpserver"
	"github.com/lattice-platform/lattice/pkg/platform/observe"
	"github.com/lattice-platform/lattice/pkg/ports"
)

// targetFlags is the flag set of a command that acts on --target services.
type targetFlags struct {
	*flag.FlagSet
	target *string
}

func newTargetFlags(name string, stderr io.Writer) targetFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return targetFlags{FlagSet: fs, target: fs.String("target", "all", "all, or one of "+strings.Join(targetNames(), ", "))}
}

// parse reads the flags and then the configuration, so that a bad target
// is reported before any configuration problem.
func (f targetFlags) parse(args []string, lookup func(string) (string, bool)) ([]string, Config, error) {
	if err := f.Parse(args); err != nil {
		return nil, Config{}, err
	}
	services, err := parseTarget(*f.target)
	if err != nil {
		return nil, Config{}, err
	}
	cfg, err := loadConfig(&config.Env{Lookup: lookup})
	if err != nil {
		return nil, Config{}, fmt.Errorf("configuration: %w", err)
	}
	cfg.trustNoProxyUnlessSet(services, lookup)
	if slices.Contains(services, "analytics") && !slices.Contains(services, "gateway") && cfg.Analytics.SigningKeySeed == nil {
		return nil, Config{}, errors.New("analytics: ANALYTICS_AUDIT_SIGNING_KEY or ANALYTICS_AUDIT_SIGNING_KEY_FILE is required: " +
			"the key that signs audit checkpoints must not live in the database it protects")
	}
	return services, cfg, nil
}

// cmdServe runs the chosen services until ctx ends. ready, if not nil,
// receives each service's bound address (tests use it with port 0).
func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool), ready func(service string, addr net.Addr)) error {
	fs := newTargetFlags("serve", stderr)
	authAddr := fs.String("auth-addr", "", "override AUTH_ADDR")
	services, cfg, err := fs.parse(args, lookup)
	if err != nil {
		return err
	}
	if *authAddr != "" {
		auth := cfg.HTTP["auth"]
		auth.Addr = *authAddr
		cfg.HTTP["auth"] = auth
	}
	log := observe.NewLogger(stdout, cfg.LogLevel, "")
	slog.SetDefault(log)

	shutdownTracing, err := observe.SetupTracing(ctx, "lattice", version)
	if err != nil {
		return fmt.Errorf("tracing: %w", err)
	}
	defer func() { _ = shutdownTracing(context.Background()) }()

	// Bind every listener first: with port 0 the addresses are known only
	// then, and the targets of one process reach each other through them.
	bound, err := bindListeners(services, cfg, log)
	defer func() {
		for _, l := range bound {
			l.close()
		}
	}()
	if err != nil {
		return err
	}
	cfg.wireBoundAddresses(services, bound, lookup)

	built, err := buildServices(ctx, services, cfg, log)
	for _, b := range built {
		defer b.close()
	}
	if err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 2*len(built))
	serve := func(name string, srv *httpserver.Server) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Serve(ctx); err != nil {
				errs <- fmt.Errorf("%s: %w", name, err)
				cancel()
			}
		}()
	}
	for _, b := range built {
		if b.http.API == nil {
			continue // infrastructure such as the bus: nothing to serve
		}
		l := bound[b.name]
		l.public.Handle(httpserver.Handler(b.httpCfg, b.http))
		if l.admin != nil {
			l.admin.Handle(httpserver.AdminHandler(b.http))
			b.log.Info("serving metrics", "addr", l.admin.Addr().String())
			serve(b.name+" admin", l.admin)
		}
		b.log.Info("serving", "addr", l.public.Addr().String())
		if ready != nil {
			ready(b.name, l.public.Addr())
			if l.admin != nil {
				ready(b.name+"-admin", l.admin.Addr())
			}
		}
		wg.Add(1)
		go func() { defer wg.Done(); b.run(ctx) }()
		serve(b.name, l.public)
		delete(bound, b.name) // served: Serve closes it
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// boundListeners are one target's bound public and internal (admin) sockets.
type boundListeners struct {
	public, admin *httpserver.Server
}

// close releases sockets that were never served.
func (l boundListeners) close() {
	_ = l.public.Close()
	if l.admin != nil {
		_ = l.admin.Close()
	}
}

// bindListeners binds every target's listeners. On error it returns what it
// bound so far, for the caller to close.
func bindListeners(services []string, cfg Config, log *slog.Logger) (map[string]boundListeners, error) {
	bound := map[string]boundListeners{}
	for _, name := range services {
		h := cfg.HTTP[name]
		pub, err := httpserver.Bind(h, log)
		if err != nil {
			return bound, fmt.Errorf("%s: %w", name, err)
		}
		l := boundListeners{public: pub}
		if h.AdminAddr != "" {
			if l.admin, err = httpserver.Bind(httpserver.Config{Addr: h.AdminAddr}, log); err != nil {
				_ = pub.Close()
				return bound, fmt.Errorf("%s admin listener: %w", name, err)
			}
		}
		bound[name] = l
	}
	return bound, nil
}

// builtService is one wired service, ready to listen.
type builtService struct {
	name    string
	http    httpserver.Service
	httpCfg httpserver.Config
	log     *slog.Logger
	run     func(context.Context)
	close   func()
}

// buildServices wires the chosen targets in registry order (a target after
// those it calls). It returns what it built so far even on error, so the
// caller can close it.
func buildServices(ctx context.Context, services []string, cfg Config, log *slog.Logger) ([]builtService, error) {
	p := &platform{ctx: ctx, cfg: cfg, log: log, services: services}
	var built []builtService
	for _, name := range services {
		t, _ := lookupTarget(name)
		svcLog := log.With("service", name)
		b, err := t.build(p, svcLog)
		built = append(built, p.takeClosers()...)
		if err != nil {
			return built, fmt.Errorf("%s: %w", name, err)
		}
		b.name, b.log, b.httpCfg = name, svcLog, cfg.HTTP[name]
		built = append(built, b)
	}
	return built, nil
}

// gatewayUpstreams are the services the gateway proxies to: in --target=all
// the ones running here; alone, every configured URL.
func gatewayUpstreams(cfg Config, services []string) map[string]string {
	if len(services) == 1 {
		return cfg.Upstreams
	}
	out := map[string]string{}
	for _, name := range services {
		if u, ok := cfg.Upstreams[name]; ok {
			out[name] = u
		}
	}
	if u, ok := cfg.Upstreams["legacy"]; ok {
		out["legacy"] = u
	}
	return out
}

// rateLimiter is Redis-backed when REDIS_URL is set (budgets shared by
// every replica), in-memory otherwise.
func rateLimiter(cfg Config) (ports.RateLimiter, error) {
	if cfg.RedisURL == "" {
		return tokenbucket.New(), nil
	}
	opts, err := goredis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, errors.New("REDIS_URL is not a redis:// URL")
	}
	return redisadapter.NewRateLimiter(goredis.NewClient(opts), "lattice:ratelimit:"), nil
}

// blobStore is S3 when S3_ENDPOINT is set, else a directory under the
// data directory.
func blobStore(ctx context.Context, cfg Config) (ports.BlobStore, error) {
	if cfg.S3.Endpoint != "" {
		return s3blob.New(ctx, cfg.S3)
	}
	return fsblob.New(filepath.Join(cfg.DataDir, "blobs"))
}

// eventBus is the process's JetStream connection and what is built on it.
type eventBus struct {
	js         jetstream.JetStream
	publisher  ports.EventPublisher
	subscriber *natsjs.Subscriber
}

// openBus connects to NATS JetStream (an embedded server when NATS_URL is
// unset) and makes sure the streams exist.
func openBus(ctx context.Context, cfg Config, log *slog.Logger) (*eventBus, func(), error) {
	url := cfg.NATSURL
	var embedded *natsjs.Embedded
	if url == "" {
		var err error
		if embedded, err = natsjs.StartEmbedded(filepath.Join(cfg.DataDir, "nats")); err != nil {
			return nil, nil, err
		}
		url = embedded.URL()
		log.Info("started embedded NATS JetStream", "url", url, "store", filepath.Join(cfg.DataDir, "nats"))
	}
	closeAll := func() {
		if embedded != nil {
			embedded.Close()
		}
	}
	nc, js, err := natsjs.Connect(url, "lattice")
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	closeAll = func() {
		nc.Close()
		if embedded != nil {
			embedded.Close()
		}
	}
	if err := natsjs.EnsureStreams(ctx, js); err != nil {
		closeAll()
		return nil, nil, err
	}
	return &eventBus{js: js, publisher: natsjs.NewPublisher(js, 5*time.Second), subscriber: natsjs.NewSubscriber(js, "EVENTS", log)}, closeAll, nil
}

// serviceClient is an HTTP client that authenticates as the service client
// (OAuth 2.1 client credentials), fetching and renewing tokens as needed.
func serviceClient(ctx context.Context, cfg Config, id, secret string) *http.Client {
	cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: cfg.AuthURL + "/oauth2/token"}
	base := &http.Client{Timeout: 30 * time.Second}
	c := cc.Client(context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, base))
	c.Timeout = 60 * time.Second
	return c
}

// embedder is the OpenAI-compatible client when EMBEDDINGS_URL is set,
// else the built-in lexical embedder.
func embedder(cfg Config) (ports.Embedder, error) {
	e := cfg.Embeddings
	if e.BaseURL == "" {
		return hashembed.Embedder{}, nil
	}
	if e.Model == "" || e.Dimensions <= 0 {
		return nil, errors.New("EMBEDDINGS_URL needs EMBEDDINGS_MODEL and EMBEDDINGS_DIMENSIONS")
	}
	return openaiembed.New(e), nil
}

// serviceVerifier builds the token verifier a service uses: JWTs against
// auth's JWKS, API keys through introspection with the service client.
func serviceVerifier(cfg Config, id, secret string, log *slog.Logger) *tokenverify.Verifier {
	client := &http.Client{Timeout: 10 * time.Second}
	vc := tokenverify.Config{
		Issuer: cfg.Auth.Issuer, Audience: cfg.Auth.Audience,
		Fetch: tokenverify.FetchJWKS(cfg.AuthURL+"/.well-known/jwks.json", client),
	}
	if id != "" {
		vc.Introspect = tokenverify.NewIntrospector(cfg.AuthURL+"/oauth2/introspect", id, secret, client, 30*time.Second)
	} else {
		log.Warn("API keys are not accepted: set LATTICE_SERVICE_CLIENT_ID and LATTICE_SERVICE_CLIENT_SECRET to enable introspection")
	}
	return tokenverify.New(vc)
}
