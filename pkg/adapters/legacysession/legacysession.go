// Package legacysession checks the session tokens of the system Lattice
// replaces, for auth's token exchange during a migration (app.
// LegacySessionVerifier): by the HS256 secret that system signs its JWTs
// with (lestrrat-go/jwx), or by asking its RFC 7662 introspection
// endpoint, which also sees sessions it has revoked.
package legacysession

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/lattice-platform/lattice/services/auth/app"
)

// MaxToken bounds a token either verifier reads.
const MaxToken = 8 << 10

// HS256 verifies JWTs signed with a shared secret. The token must carry
// "exp" and "sub" (the user's key in the other system); "nbf" and "iat"
// are checked when present, with a minute of clock skew.
type HS256 struct {
	key []byte
	now func() time.Time
}

var _ app.LegacySessionVerifier = (*HS256)(nil)

// NewHS256 returns a verifier for secret, which must be at least 16 bytes.
func NewHS256(secret []byte) (*HS256, error) {
	if len(secret) < 16 {
		return nil, errors.New("legacysession: the HS256 secret must be at least 16 bytes")
	}
	return &HS256{key: bytes.Clone(secret), now: time.Now}, nil
}

// Verify checks the token's signature, algorithm and times.
func (h *HS256) Verify(_ context.Context, token string) (string, error) {
	if len(token) > MaxToken {
		return "", app.ErrLegacySessionInvalid
	}
	t, err := jwt.ParseString(token, jwt.WithKey(jwa.HS256(), h.key), jwt.WithValidate(true),
		jwt.WithRequiredClaim("exp"), jwt.WithRequiredClaim("sub"), jwt.WithAcceptableSkew(time.Minute),
		jwt.WithClock(jwt.ClockFunc(h.now)))
	if err != nil {
		return "", app.ErrLegacySessionInvalid
	}
	sub, ok := t.Subject()
	if !ok || sub == "" {
		return "", app.ErrLegacySessionInvalid
	}
	return sub, nil
}

// Introspection asks the other system whether a token is an active
// session (RFC 7662), authenticating with a bearer token of its own.
type Introspection struct {
	url     string
	bearer  string
	client  *http.Client
	timeout time.Duration // introspectionTimeout; tests shorten it
}

var _ app.LegacySessionVerifier = (*Introspection)(nil)

// Introspection's bounds: its answer is a small JSON object.
const (
	maxIntrospectionAnswer = 64 << 10
	introspectionTimeout   = 5 * time.Second
)

// NewIntrospection returns a verifier that posts tokens to endpoint.
// bearer, when set, authenticates the call; client nil means a client with
// a 5-second timeout.
func NewIntrospection(endpoint, bearer string, client *http.Client) (*Introspection, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("legacysession: the introspection URL must be an absolute http(s) URL")
	}
	if client == nil {
		client = &http.Client{Timeout: introspectionTimeout}
	}
	return &Introspection{url: endpoint, bearer: bearer, client: client, timeout: introspectionTimeout}, nil
}

// Verify posts the token and reads "active", "sub" and "exp".
func (in *Introspection) Verify(ctx context.Context, token string) (string, error) {
	if len(token) > MaxToken {
		return "", app.ErrLegacySessionInvalid
	}
	ctx, cancel := context.WithTimeout(ctx, in.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.url, strings.NewReader(url.Values{"token": {token}}.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if in.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+in.bearer)
	}
	resp, err := in.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("legacy session introspection: %w", errors.Unwrap(err)) // the URL is configuration, the error's cause is enough
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("legacy session introspection answered %d", resp.StatusCode)
	}
	var out struct {
		Active bool            `json:"active"`
		Sub    json.RawMessage `json:"sub"`
		Exp    *int64          `json:"exp"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxIntrospectionAnswer)).Decode(&out); err != nil {
		return "", fmt.Errorf("legacy session introspection: unreadable answer: %w", err)
	}
	if !out.Active || (out.Exp != nil && time.Unix(*out.Exp, 0).Before(time.Now())) {
		return "", app.ErrLegacySessionInvalid
	}
	sub := subject(out.Sub)
	if sub == "" {
		return "", app.ErrLegacySessionInvalid
	}
	return sub, nil
}

// subject reads "sub" as a string, or as a number (an integer key some
// systems send unquoted).
func subject(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n int64
	if json.Unmarshal(raw, &n) == nil {
		return strconv.FormatInt(n, 10)
	}
	return ""
}
