package tokenverify

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/ports"
)

// Introspector checks opaque credentials (API keys, login sessions) with the auth service's
// RFC 7662 endpoint, authenticating as a confidential client. Answers are
// cached — positive ones for up to TTL, negative ones briefly — keyed by the
// credential's SHA-256, so a revoked key stops working within TTL.
type Introspector struct {
	endpoint     string
	clientID     string
	clientSecret string
	client       *http.Client
	ttl          time.Duration
	cache        *expirable.LRU[[32]byte, introspection]
	now          func() time.Time
}

type introspection struct {
	id     ports.Identity
	active bool
}

// NewIntrospector returns an introspector; ttl 0 means 30 seconds.
func NewIntrospector(endpoint, clientID, clientSecret string, client *http.Client, ttl time.Duration) *Introspector {
	if ttl == 0 {
		ttl = 30 * time.Second
	}
	return &Introspector{
		endpoint: endpoint, clientID: clientID, clientSecret: clientSecret, client: client, ttl: ttl,
		cache: expirable.NewLRU[[32]byte, introspection](10000, nil, ttl), now: time.Now,
	}
}

// Verify returns the identity of an active credential.
func (in *Introspector) Verify(ctx context.Context, token string) (ports.Identity, error) {
	key := sha256.Sum256([]byte(token))
	if hit, ok := in.cache.Get(key); ok {
		if !hit.active {
			return ports.Identity{}, errBadKey
		}
		if in.now().Before(hit.id.ExpiresAt) {
			return hit.id, nil
		}
		// An active answer past its time is asked again, not refused: the
		// cache drops it a moment after its ExpiresAt (it is added after
		// ExpiresAt is computed, later still on a busy machine), and in
		// that moment a valid credential was answered 401. A credential
		// that has really expired is inactive when asked.
	}
	res, err := in.ask(ctx, token)
	if err != nil {
		return ports.Identity{}, err
	}
	in.cache.Add(key, res)
	if !res.active {
		return ports.Identity{}, errBadKey
	}
	return res.id, nil
}

var errBadKey = fault.New(fault.Unauthenticated, "the API key is invalid, expired or revoked")

func (in *Introspector) ask(ctx context.Context, token string) (introspection, error) {
	form := url.Values{"token": {token}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return introspection{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(in.clientID), url.QueryEscape(in.clientSecret))
	resp, err := in.client.Do(req)
	if err != nil {
		return introspection{}, fault.Wrap(fault.Unavailable, "the token authority is unavailable", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return introspection{}, fault.Wrap(fault.Unavailable, "the token authority refused introspection",
			fmt.Errorf("introspection status %d", resp.StatusCode))
	}
	var body struct {
		Active   bool   `json:"active"`
		Sub      string `json:"sub"`
		Scope    string `json:"scope"`
		ClientID string `json:"client_id"`
		Exp      int64  `json:"exp"`
		Jti      string `json:"jti"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return introspection{}, fault.Wrap(fault.Unavailable, "the token authority answered nonsense", err)
	}
	if !body.Active {
		return introspection{}, nil
	}
	exp := in.now().Add(in.ttl)
	if body.Exp > 0 && time.Unix(body.Exp, 0).Before(exp) {
		exp = time.Unix(body.Exp, 0)
	}
	kind := ports.CredentialAPIKey
	if strings.HasPrefix(token, "lts_") {
		kind = ports.CredentialSession
	}
	return introspection{active: true, id: ports.Identity{
		Kind: kind, Subject: body.Sub, ClientID: body.ClientID,
		Scopes: strings.Fields(body.Scope), ExpiresAt: exp, TokenID: body.Jti,
	}}, nil
}
