// Package lattice is the Go client of the Lattice platform's public REST
// API, for programs that call Lattice through its gateway.
//
// New gives one Client with a typed client per service (Resources, Search,
// Jobs, Analytics, Audit, Auth, Gateway). Each offers the common tasks as
// methods and every operation of its OpenAPI contract through its API
// field, which is generated from the published specs (the api/...
// packages). Whatever is called, the same transport applies:
//
//   - authentication: an oauth2.TokenSource, client credentials found by
//     discovery (RFC 8414), or an API key;
//   - errors: every answer outside 2xx (after the redirects the HTTP
//     client follows) becomes a *Problem (RFC 9457), for errors.As and
//     the Is... helpers;
//   - retries: idempotent calls are retried on 429 and 503 (honouring
//     Retry-After) and on connection errors, a bounded number of times and
//     never past the context. Every create carries an Idempotency-Key;
//     a resource create, whose service honours it, is retried under that
//     key, so its retry cannot create twice. Other creates are sent once;
//   - lists: All methods page through cursors as an iter.Seq2.
package lattice

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/lattice-platform/lattice/sdk/api/analytics"
	"github.com/lattice-platform/lattice/sdk/api/auth"
	"github.com/lattice-platform/lattice/sdk/api/composite"
	"github.com/lattice-platform/lattice/sdk/api/jobs"
	"github.com/lattice-platform/lattice/sdk/api/resources"
	"github.com/lattice-platform/lattice/sdk/api/search"
)

// Version is this SDK's version, sent in the default User-Agent.
const Version = "0.1.0"

// Client calls one Lattice platform through its gateway. It is safe for
// concurrent use; make one and share it.
type Client struct {
	Resources *ResourcesClient
	Search    *SearchClient
	Jobs      *JobsClient
	Analytics *AnalyticsClient
	Audit     *AuditClient
	Auth      *AuthClient
	Gateway   *GatewayClient
}

// Option configures New.
type Option func(*settings) error

type settings struct {
	httpClient   *http.Client
	userAgent    string
	tokens       oauth2.TokenSource
	credentials  *clientCredentials
	apiKey       string
	maxRetries   int
	maxRetryWait time.Duration
	backoff      time.Duration
	basePath     string
}

// WithTokenSource authenticates every call with the tokens ts gives (an
// access token of the caller's own, a refresh flow, ...). ts is called
// before each request, so it should cache (oauth2.ReuseTokenSource).
func WithTokenSource(ts oauth2.TokenSource) Option {
	return func(s *settings) error {
		if ts == nil {
			return errors.New("lattice: WithTokenSource: nil token source")
		}
		s.tokens = ts
		return nil
	}
}

// WithClientCredentials authenticates as a confidential OAuth client with
// the client-credentials grant. The token endpoint is found by discovery
// (RFC 8414) at the base URL's /.well-known/oauth-authorization-server on
// first use; tokens are cached until shortly before they expire.
func WithClientCredentials(clientID, clientSecret string, scopes ...string) Option {
	return func(s *settings) error {
		if clientID == "" || clientSecret == "" {
			return errors.New("lattice: WithClientCredentials: the client id and secret are required")
		}
		s.credentials = &clientCredentials{id: clientID, secret: clientSecret, scopes: scopes}
		return nil
	}
}

// WithAPIKey authenticates every call with an API key (ltk_…), as made by
// POST /v1/api-keys.
func WithAPIKey(key string) Option {
	return func(s *settings) error {
		if key == "" {
			return errors.New("lattice: WithAPIKey: empty key")
		}
		s.apiKey = key
		return nil
	}
}

// WithHTTPClient sends every request through hc (its transport, proxy,
// TLS settings and timeout). The default is a client of its own with a
// tuned transport, not http.DefaultClient.
func WithHTTPClient(hc *http.Client) Option {
	return func(s *settings) error {
		if hc == nil {
			return errors.New("lattice: WithHTTPClient: nil client")
		}
		s.httpClient = hc
		return nil
	}
}

// WithUserAgent sets the User-Agent of every request; the SDK's own name
// and version are appended.
func WithUserAgent(ua string) Option {
	return func(s *settings) error {
		s.userAgent = strings.TrimSpace(ua + " lattice-go/" + Version)
		return nil
	}
}

// WithRetries sets how many times a retryable call is tried again (0: never;
// default 3), and the longest Retry-After the client waits for: an answer
// asking for a longer wait is returned as its *Problem (default 30 s).
func WithRetries(max int, maxWait time.Duration) Option {
	return func(s *settings) error {
		if max < 0 || maxWait < 0 {
			return errors.New("lattice: WithRetries: negative retries or wait")
		}
		s.maxRetries, s.maxRetryWait = max, maxWait
		return nil
	}
}

// New returns a client of the platform at baseURL (the gateway's URL, for
// example http://127.0.0.1:8080). It does no I/O: credentials are checked
// on the first call.
func New(baseURL string, opts ...Option) (*Client, error) {
	base, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, errors.New("lattice: the base URL must be an absolute http or https URL")
	}
	if base.User != nil {
		return nil, errors.New("lattice: the base URL must not carry credentials; use an Option")
	}
	s := settings{userAgent: "lattice-go/" + Version, maxRetries: 3, maxRetryWait: 30 * time.Second, backoff: 100 * time.Millisecond}
	for _, o := range opts {
		if err := o(&s); err != nil {
			return nil, err
		}
	}
	ways := 0
	for _, set := range []bool{s.tokens != nil, s.credentials != nil, s.apiKey != ""} {
		if set {
			ways++
		}
	}
	if ways > 1 {
		return nil, errors.New("lattice: choose one of WithTokenSource, WithClientCredentials and WithAPIKey")
	}
	if s.httpClient == nil {
		s.httpClient = &http.Client{Transport: defaultTransport()}
	}
	server := base.String()
	s.basePath = base.Path
	if s.credentials != nil {
		s.tokens = s.credentials.tokenSource(server, s.httpClient)
	}
	d := &doer{hc: s.httpClient, s: &s}
	// The generated constructors fail only on a base URL that does not
	// parse, which New has checked.
	res, err1 := resources.NewClientWithResponses(server, resources.WithHTTPClient(d))
	srch, err2 := search.NewClientWithResponses(server, search.WithHTTPClient(d))
	jb, err3 := jobs.NewClientWithResponses(server, jobs.WithHTTPClient(d))
	an, err4 := analytics.NewClientWithResponses(server, analytics.WithHTTPClient(d))
	au, err5 := auth.NewClientWithResponses(server, auth.WithHTTPClient(d))
	gw, err6 := composite.NewClientWithResponses(server, composite.WithHTTPClient(d))
	if err := errors.Join(err1, err2, err3, err4, err5, err6); err != nil {
		return nil, err
	}
	return &Client{
		Resources: &ResourcesClient{API: res},
		Search:    &SearchClient{API: srch},
		Jobs:      &JobsClient{API: jb},
		Analytics: &AnalyticsClient{API: an},
		Audit:     &AuditClient{API: an},
		Auth:      &AuthClient{API: au},
		Gateway:   &GatewayClient{API: gw},
	}, nil
}

// defaultTransport keeps enough idle connections per host for a busy
// program (net/http's default of 2 makes new connections under load).
// How long a call may take is the caller's context's deadline.
func defaultTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 32
	return t
}
