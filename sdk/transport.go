package lattice

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
)

// doer is what every generated client sends its requests through: it
// authenticates them, marks creates with an Idempotency-Key, retries what
// may be retried, and turns error answers into *Problem.
type doer struct {
	hc *http.Client
	s  *settings
}

// idempotentPOSTs are the POST operations that may be sent twice: those
// that only read (search, access checks, audit verification,
// introspection) and those that honour Idempotency-Key (a resource
// create), by path relative to the base URL. Every other POST (a job, a
// session, an API key, an upload) is tried once: its retry could act
// twice. sdk's tests check this list against the specs.
var idempotentPOSTs = map[string]bool{
	"/v1/search":                  true,
	"/v1/resources/access-checks": true,
	"/v1/audit-events/verify":     true,
	"/oauth2/introspect":          true,
	"/v1/resources":               true, // with its Idempotency-Key
}

// keyedPOSTs are the operations that honour Idempotency-Key, and so are
// retried with it.
var keyedPOSTs = map[string]bool{"/v1/resources": true}

// createPOSTs are the POST operations that create something (the specs
// answer them 201 or 202), by path pattern: each is sent with an
// Idempotency-Key, generated unless the caller set one. Where the service
// honours it (keyedPOSTs) a retry replays the first answer; elsewhere the
// key is ignored today and the call is not retried.
var createPOSTs = []string{
	"/v1/resources", "/v1/resources/{id}/files", "/v1/jobs", "/v1/indexes/rebuild",
	"/v1/users", "/v1/sessions", "/v1/api-keys", "/oauth2/clients", "/oauth2/signing-keys",
}

// matches reports whether path fits pattern, whose {name} segments match
// any one segment.
func matches(pattern, path string) bool {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return false
	}
	for i, p := range ps {
		if p != xs[i] && !(strings.HasPrefix(p, "{") && xs[i] != "") {
			return false
		}
	}
	return true
}

func isCreate(path string) bool {
	for _, p := range createPOSTs {
		if matches(p, path) {
			return true
		}
	}
	return false
}

type idempotencyKey struct{}

// WithIdempotencyKey makes a create sent with ctx carry key as its
// Idempotency-Key instead of a generated one, so that a program that
// restarts can repeat a create it is unsure about without creating twice.
func WithIdempotencyKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, idempotencyKey{}, key)
}

// Do sends req, with the retries the call allows.
func (d *doer) Do(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", d.s.userAgent)
	}
	if req.Header.Get("Authorization") == "" {
		if err := d.authorize(req); err != nil {
			return nil, err
		}
	}
	// The generated clients put the base URL's path ("" or "/prefix")
	// before each operation's.
	op := strings.TrimPrefix(req.URL.Path, d.s.basePath)
	if req.Method == http.MethodPost && isCreate(op) && req.Header.Get("Idempotency-Key") == "" {
		key, _ := ctx.Value(idempotencyKey{}).(string)
		if key == "" {
			key = uuid.NewString()
		}
		req.Header.Set("Idempotency-Key", key)
	}
	retryable := isIdempotent(req.Method) || req.Method == http.MethodPost && idempotentPOSTs[op]
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		retryable = false // a streamed body cannot be sent again
	}
	for attempt := 0; ; attempt++ {
		if attempt > 0 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			req.Body = body
		}
		resp, err := d.hc.Do(req)
		again := retryable && attempt < d.s.maxRetries
		if err != nil {
			if ctx.Err() != nil || !again || !isConnectionError(err) {
				return nil, err
			}
			if err := sleep(ctx, d.backoff(attempt)); err != nil {
				return nil, err
			}
			continue
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return resp, nil
		}
		if again && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
			wait, ok := retryAfter(resp.Header)
			if !ok {
				wait = d.backoff(attempt)
			}
			if wait <= d.s.maxRetryWait {
				_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxProblemBytes))
				resp.Body.Close()
				if err := sleep(ctx, wait); err != nil {
					return nil, err
				}
				continue
			}
		}
		return nil, problemOf(resp)
	}
}

func (d *doer) authorize(req *http.Request) error {
	switch {
	case d.s.apiKey != "":
		req.Header.Set("Authorization", "Bearer "+d.s.apiKey)
	case d.s.tokens != nil:
		tok, err := d.s.tokens.Token()
		if err != nil {
			// The token endpoint's error objects carry no secret, and
			// nothing here quotes the client's.
			return fmt.Errorf("lattice: obtaining an access token: %w", err)
		}
		tok.SetAuthHeader(req)
	}
	return nil
}

// backoff is the wait before retry attempt+1 after a connection error or
// a 503 without Retry-After: exponential, with jitter so that many
// clients refused at once do not come back at once.
func (d *doer) backoff(attempt int) time.Duration {
	w := d.s.backoff << min(attempt, 6)
	return w/2 + rand.N(w/2+1)
}

func isIdempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// isConnectionError reports whether err is a failure to reach the server
// or a connection lost before the answer: worth trying again, unlike a
// certificate the client refuses.
func isConnectionError(err error) bool {
	if _, ok := errors.AsType[*net.OpError](err); ok {
		return true
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
