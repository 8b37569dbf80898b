// Package legacysession lets the gateway accept, during a migration, the
// session tokens of the system Lattice replaces: it exchanges each for a
// Lattice access token at auth's token endpoint (RFC 8693), which checks
// the legacy token and maps its user, and remembers the answer so that a
// session costs one exchange, not one per request.
package legacysession

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Header is the response header that carries the Lattice access token a
// legacy session was exchanged for, so the client can use it from then on.
const Header = "X-Lattice-Access-Token"

// The token exchange's parameters (RFC 8693), as auth names them.
const (
	GrantTokenExchange     = "urn:ietf:params:oauth:grant-type:token-exchange"
	TokenTypeLegacySession = "urn:lattice:params:oauth:token-type:legacy-session"
	TokenTypeAccessToken   = "urn:ietf:params:oauth:token-type:access_token"
)

// ErrRejected is a legacy token auth refused: forged, expired, revoked,
// or of a user not imported.
var ErrRejected = errors.New("the legacy session is not valid")

// Bounds: a token read, an answer read, a call, and the remembered
// exchanges.
const (
	MaxToken      = 8 << 10
	maxAnswer     = 64 << 10
	callTimeout   = 5 * time.Second
	MaxRemembered = 10_000
	// MaxReuse caps how long an exchange is reused, so a session the other
	// system revokes stops working within this time (when auth asks its
	// introspection endpoint).
	MaxReuse = 5 * time.Minute
	// rejectedFor is how long a refused token is refused without asking.
	rejectedFor = 30 * time.Second
)

// Exchanger exchanges legacy session tokens at auth's token endpoint as a
// client registered for the token-exchange grant.
type Exchanger struct {
	tokenURL       string
	clientID       string
	secret         string
	client         *http.Client
	now            func() time.Time
	flight         singleflight.Group
	mu             sync.Mutex
	issued, denied map[[32]byte]remembered
	limit          int           // MaxRemembered; tests lower it
	timeout        time.Duration // callTimeout; tests shorten it
}

type remembered struct {
	token string
	until time.Time
}

// New returns an exchanger posting to tokenURL with the client's
// credentials (HTTP Basic) through client (nil: a default client).
func New(tokenURL, clientID, secret string, client *http.Client) (*Exchanger, error) {
	u, err := url.Parse(tokenURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("legacysession: the token URL must be an absolute http(s) URL")
	}
	if clientID == "" || secret == "" {
		return nil, errors.New("legacysession: the exchange needs a client id and secret")
	}
	if client == nil {
		client = &http.Client{}
	}
	return &Exchanger{tokenURL: tokenURL, clientID: clientID, secret: secret, client: client, now: time.Now,
		issued: map[[32]byte]remembered{}, denied: map[[32]byte]remembered{}, limit: MaxRemembered, timeout: callTimeout}, nil
}

// Exchange returns the Lattice access token for a legacy session token,
// or ErrRejected. Concurrent requests with one token make one call.
func (e *Exchanger) Exchange(ctx context.Context, legacy string) (string, error) {
	if legacy == "" || len(legacy) > MaxToken {
		return "", ErrRejected
	}
	key := sha256.Sum256([]byte(legacy))
	if tok, ok := e.recall(e.issued, key); ok {
		return tok, nil
	}
	if _, ok := e.recall(e.denied, key); ok {
		return "", ErrRejected
	}
	v, err, _ := e.flight.Do(string(key[:]), func() (any, error) {
		// A caller that found nothing just before another's flight ended
		// starts a flight of its own: the answer that flight remembered
		// is looked for again, or the session would be exchanged twice.
		if tok, ok := e.recall(e.issued, key); ok {
			return tok, nil
		}
		if _, ok := e.recall(e.denied, key); ok {
			return "", ErrRejected
		}
		tok, ttl, err := e.call(context.WithoutCancel(ctx), legacy)
		switch {
		case errors.Is(err, ErrRejected):
			e.remember(e.denied, key, "", rejectedFor)
		case err == nil:
			e.remember(e.issued, key, tok, min(ttl-30*time.Second, MaxReuse))
		}
		return tok, err
	})
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

func (e *Exchanger) recall(m map[[32]byte]remembered, key [32]byte) (string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r, ok := m[key]
	if !ok || !e.now().Before(r.until) {
		return "", false
	}
	return r.token, true
}

// remember keeps an answer for ttl. When full, expired answers go first,
// then any: the map never grows past its limit.
func (e *Exchanger) remember(m map[[32]byte]remembered, key [32]byte, token string, ttl time.Duration) {
	if ttl <= 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	if len(m) >= e.limit {
		for k, r := range m {
			if !now.Before(r.until) {
				delete(m, k)
			}
		}
		for k := range m {
			if len(m) < e.limit {
				break
			}
			delete(m, k)
		}
	}
	m[key] = remembered{token: token, until: now.Add(ttl)}
}

// call posts one exchange.
func (e *Exchanger) call(ctx context.Context, legacy string) (string, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	form := url.Values{
		"grant_type": {GrantTokenExchange}, "subject_token": {legacy},
		"subject_token_type": {TokenTypeLegacySession}, "requested_token_type": {TokenTypeAccessToken},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(e.clientID), url.QueryEscape(e.secret)) // RFC 6749 §2.3.1
	resp, err := e.client.Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("legacy session exchange: %w", err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken     string `json:"access_token"`
		ExpiresIn       int    `json:"expires_in"`
		IssuedTokenType string `json:"issued_token_type"`
		Error           string `json:"error"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAnswer)).Decode(&out); err != nil {
		return "", 0, fmt.Errorf("legacy session exchange: auth answered %d, unreadably", resp.StatusCode)
	}
	switch {
	case resp.StatusCode == http.StatusBadRequest && (out.Error == "invalid_grant" || out.Error == "invalid_request"):
		return "", 0, ErrRejected
	case resp.StatusCode != http.StatusOK:
		// invalid_client or unsupported_grant_type: the gateway's or auth's
		// configuration, not the caller's token.
		return "", 0, fmt.Errorf("legacy session exchange: auth answered %d %s", resp.StatusCode, out.Error)
	case out.AccessToken == "" || out.IssuedTokenType != TokenTypeAccessToken:
		return "", 0, errors.New("legacy session exchange: auth issued no access token")
	}
	return out.AccessToken, time.Duration(out.ExpiresIn) * time.Second, nil
}
