package target

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
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
	"github.com/lattice-platform/lattice/pkg/platform/priority"
	"github.com/lattice-platform/lattice/pkg/platform/tlsfiles"
	"github.com/lattice-platform/lattice/pkg/ports"
)

// Platform is what the targets of one process share, each part made on
// first need: one event-bus connection, one service credential, one token
// verifier (one JWKS cache), one blob store, embedder and rate limiter,
// and one priority gate between its requests and its background work.
// Build runs the targets one at a time, so it needs no lock.
type Platform struct {
	ctx      context.Context
	settings Settings
	log      *slog.Logger
	running  []string

	provision      func(context.Context) (id, secret string, err error)
	bus            *Bus
	clientID       string
	secret         string
	verifier       ports.TokenVerifier
	blobs          ports.BlobStore
	embedder       ports.Embedder
	limiter        ports.RateLimiter
	closers        []func()
	credentialsSet bool
	tls            *tlsfiles.Store
	holders        []string // targets that call with the service credential
	gate           *priority.Gate
}

// NewPlatform returns the platform of a process running the named targets
// with settings s. ctx bounds what the platform starts.
func NewPlatform(ctx context.Context, s Settings, running []string, log *slog.Logger) *Platform {
	return &Platform{ctx: ctx, settings: s, running: running, log: log,
		gate: priority.New(s.BackgroundPercent, priority.DefaultLongestPause, priority.DefaultArrivals)}
}

// Gate is the process's priority gate (ADR 0034): the public listeners
// count their requests through it, and the event consumers and job
// workers built on Bus wait on it.
func (p *Platform) Gate() *priority.Gate { return p.gate }

// Settings are the shared settings the platform was made with.
func (p *Platform) Settings() Settings { return p.settings }

// Runs reports whether this process runs the named target.
func (p *Platform) Runs(name string) bool { return slices.Contains(p.running, name) }

// URL is where the named target is reached: the first of its URLs when
// <NAME>_URL lists several replicas, and a dns+ URL's name as the resolver
// answers it (the gateway balances over all of them).
func (p *Platform) URL(name string) string {
	first, _, _ := strings.Cut(p.settings.URLs[name], ",")
	return strings.TrimPrefix(strings.TrimSpace(first), "dns+")
}

// Logger is the logger a target's code logs with.
func (p *Platform) Logger(name string) *slog.Logger { return p.log.With("service", name) }

// DataDir is where the process keeps local state.
func (p *Platform) DataDir() string { return p.settings.DataDir }

// Close releases what the platform opened, last first.
func (p *Platform) Close() {
	for i := len(p.closers) - 1; i >= 0; i-- {
		p.closers[i]()
	}
	p.closers = nil
}

// TLS is the process's certificate store when TLS is configured (nil
// otherwise): listeners serve with its ServerConfig, internal clients dial
// with its ClientConfig.
func (p *Platform) TLS() (*tlsfiles.Store, error) {
	if p.tls != nil || !p.settings.TLS.Enabled() {
		return p.tls, nil
	}
	store, err := tlsfiles.Open(p.settings.TLS)
	if err != nil {
		return nil, err
	}
	p.tls = store
	return store, nil
}

// TrustServiceCredentialFrom names the targets that call other services
// with the service client's token (Target.ServiceCredential): with mutual
// TLS on, the token is honoured only from their certificates.
func (p *Platform) TrustServiceCredentialFrom(targets []string) { p.holders = targets }

// UseTLS shares the certificate store the process's listeners serve with
// (nil: none), so one store watches the files.
func (p *Platform) UseTLS(store *tlsfiles.Store) {
	if store != nil {
		p.tls = store
	}
}

// Transport is a new base for an internal HTTP client: with TLS
// configured, it presents this service's certificate and trusts only the
// configured CA; otherwise it is http.DefaultTransport's settings.
func (p *Platform) Transport() (*http.Transport, error) {
	store, err := p.TLS()
	if err != nil {
		return nil, err
	}
	if store == nil {
		return http.DefaultTransport.(*http.Transport).Clone(), nil
	}
	return store.Transport(), nil
}

// Bus is the process's JetStream connection and what is built on it.
type Bus struct {
	JetStream  jetstream.JetStream
	Publisher  ports.EventPublisher
	Subscriber ports.EventSubscriber
	// Gate paces the consumers and workers of this process (Platform.Gate).
	Gate *priority.Gate
}

// Bus connects to NATS JetStream (an embedded server when NATS_URL is
// unset) and makes sure the streams exist.
func (p *Platform) Bus() (*Bus, error) {
	if p.bus != nil {
		return p.bus, nil
	}
	url := p.settings.NATSURL
	if url == "" {
		dir := filepath.Join(p.settings.DataDir, "nats")
		embedded, err := natsjs.StartEmbedded(dir)
		if err != nil {
			return nil, err
		}
		p.closers = append(p.closers, embedded.Close)
		url = embedded.URL()
		p.log.Info("started embedded NATS JetStream", "url", url, "store", dir)
	}
	var opts []nats.Option
	if strings.HasPrefix(url, "tls://") {
		// A tls:// server gets this process's certificate and trusts only the
		// pinned CA, as the HTTP services do.
		store, err := p.TLS()
		if err != nil {
			return nil, err
		}
		if store != nil {
			opts = append(opts, nats.Secure(store.ClientConfig()))
		}
	}
	nc, js, err := natsjs.Connect(url, "lattice", opts...)
	if err != nil {
		return nil, err
	}
	js = natsjs.WithReplicas(js, p.settings.NATSReplicas)
	p.closers = append(p.closers, nc.Close)
	if err := natsjs.EnsureStreams(p.ctx, js); err != nil {
		return nil, err
	}
	sub := natsjs.NewSubscriber(js, p.log)
	sub.Gate = p.gate
	p.bus = &Bus{JetStream: js, Publisher: natsjs.NewPublisher(js, 5*time.Second), Subscriber: sub, Gate: p.gate}
	return p.bus, nil
}

// ProvideServiceClient is how auth, when it runs in this process, makes
// the service client that the others use when none is configured.
func (p *Platform) ProvideServiceClient(provision func(context.Context) (id, secret string, err error)) {
	p.provision = provision
}

// Credentials are the service client's: configured, or provisioned once
// when auth runs in this process; "" when neither.
func (p *Platform) Credentials() (id, secret string, err error) {
	if p.credentialsSet {
		return p.clientID, p.secret, nil
	}
	id, secret = p.settings.ServiceClientID, p.settings.ServiceClientSecret
	if id == "" && p.provision != nil {
		if id, secret, err = p.provision(p.ctx); err != nil {
			return "", "", fmt.Errorf("provision the service client: %w", err)
		}
	}
	p.clientID, p.secret, p.credentialsSet = id, secret, true
	return id, secret, nil
}

// Verifier checks bearer credentials: JWTs against auth's JWKS, API keys
// through introspection with the service client. With mutual TLS on
// (TLS_CLIENT_CA), the service client's own tokens are accepted only from
// the certificates of the targets that use them (serviceCredentialOnlyFrom).
func (p *Platform) Verifier() (ports.TokenVerifier, error) {
	if p.verifier != nil {
		return p.verifier, nil
	}
	id, secret, err := p.Credentials()
	if err != nil {
		return nil, err
	}
	auth := p.URL("auth")
	tr, err := p.Transport()
	if err != nil {
		return nil, err
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: tr}
	vc := tokenverify.Config{
		Issuer: p.settings.Issuer, Audience: p.settings.Audience,
		Fetch: tokenverify.FetchJWKS(auth+"/.well-known/jwks.json", client),
	}
	if id != "" {
		vc.Introspect = tokenverify.NewIntrospector(auth+"/oauth2/introspect", id, secret, client, 30*time.Second)
	} else {
		p.log.Warn("API keys are not accepted: set LATTICE_SERVICE_CLIENT_ID and LATTICE_SERVICE_CLIENT_SECRET to enable introspection")
	}
	p.verifier = tokenverify.New(vc)
	if p.settings.TLS.ClientCA != "" && id != "" {
		p.verifier = serviceCredentialOnlyFrom{next: p.verifier, clientID: id, callers: p.serviceCredentialCallers()}
	}
	return p.verifier, nil
}

// VerifierAndBus is what every target but auth needs.
func (p *Platform) VerifierAndBus() (ports.TokenVerifier, *Bus, error) {
	v, err := p.Verifier()
	if err != nil {
		return nil, nil, err
	}
	b, err := p.Bus()
	return v, b, err
}

// ServiceClient is an HTTP client that authenticates as the service client
// (OAuth 2.1 client credentials), fetching and renewing tokens as needed.
// It fails when there is no service client.
func (p *Platform) ServiceClient() (*http.Client, error) {
	id, secret, err := p.Credentials()
	if err != nil {
		return nil, err
	}
	if id == "" {
		return nil, errors.New("set LATTICE_SERVICE_CLIENT_ID and LATTICE_SERVICE_CLIENT_SECRET (a client allowed resources:admin) so it can read resources")
	}
	tr, err := p.Transport()
	if err != nil {
		return nil, err
	}
	cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: p.URL("auth") + "/oauth2/token"}
	base := &http.Client{Timeout: 30 * time.Second, Transport: tr}
	c := cc.Client(context.WithValue(context.WithoutCancel(p.ctx), oauth2.HTTPClient, base))
	c.Timeout = 60 * time.Second
	return c, nil
}

// Blobs is S3 when S3_ENDPOINT is set, else a directory under the data
// directory.
func (p *Platform) Blobs() (ports.BlobStore, error) {
	if p.blobs != nil {
		return p.blobs, nil
	}
	var err error
	if p.settings.S3.Endpoint != "" {
		p.blobs, err = s3blob.New(p.ctx, p.settings.S3)
	} else {
		p.blobs, err = fsblob.New(filepath.Join(p.settings.DataDir, "blobs"))
	}
	return p.blobs, err
}

// Embedder is the OpenAI-compatible client when EMBEDDINGS_URL is set,
// else the built-in lexical embedder.
func (p *Platform) Embedder() (ports.Embedder, error) {
	if p.embedder != nil {
		return p.embedder, nil
	}
	e := p.settings.Embeddings
	switch {
	case e.BaseURL == "":
		p.embedder = hashembed.Embedder{}
	case e.Model == "" || e.Dimensions <= 0:
		return nil, errors.New("EMBEDDINGS_URL needs EMBEDDINGS_MODEL and EMBEDDINGS_DIMENSIONS")
	default:
		p.embedder = openaiembed.New(e)
	}
	return p.embedder, nil
}

// Limiter is Redis-backed when REDIS_URL is set (budgets shared by every
// replica), in-process token buckets otherwise. Redis may fail: limits
// then stay enforced per process (tokenbucket.Fallback) rather than being
// lifted or refusing everyone.
func (p *Platform) Limiter() (ports.RateLimiter, error) {
	if p.limiter != nil {
		return p.limiter, nil
	}
	if p.settings.RedisURL == "" {
		p.limiter = tokenbucket.New()
		return p.limiter, nil
	}
	opts, err := redisadapter.Options(p.settings.RedisURL, p.settings.RedisTLSCA)
	if err != nil {
		return nil, err
	}
	client := goredis.NewClient(opts)
	p.closers = append(p.closers, func() { _ = client.Close() })
	shared := redisadapter.NewRateLimiter(client, "lattice:ratelimit:")
	p.limiter = tokenbucket.NewFallback(shared, p.log.With("component", "ratelimit"))
	return p.limiter, nil
}

// Upstreams are the targets a gateway proxies to: in a process running
// several, the ones running here (and the legacy monolith); alone, every
// configured URL.
func (p *Platform) Upstreams() map[string]string {
	if len(p.running) == 1 {
		return p.settings.URLs
	}
	out := map[string]string{}
	for _, name := range p.running {
		if u, ok := p.settings.URLs[name]; ok {
			out[name] = u
		}
	}
	if u, ok := p.settings.URLs["legacy"]; ok {
		out["legacy"] = u
	}
	return out
}
