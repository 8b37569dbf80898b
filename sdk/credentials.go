package lattice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// clientCredentials is a confidential client's identity, for the
// client-credentials grant.
type clientCredentials struct {
	id, secret string
	scopes     []string
}

// tokenSource finds the token endpoint by discovery on first use and then
// caches tokens until shortly before they expire.
func (c *clientCredentials) tokenSource(server string, hc *http.Client) oauth2.TokenSource {
	return oauth2.ReuseTokenSource(nil, &discoveringSource{creds: c, server: server, hc: hc})
}

type discoveringSource struct {
	creds  *clientCredentials
	server string
	hc     *http.Client

	mu  sync.Mutex
	src oauth2.TokenSource
}

// maxMetadataBytes bounds the discovery document read.
const maxMetadataBytes = 256 << 10

func (d *discoveringSource) Token() (*oauth2.Token, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.src == nil {
		endpoint, err := d.discover()
		if err != nil {
			return nil, err
		}
		cfg := clientcredentials.Config{ClientID: d.creds.id, ClientSecret: d.creds.secret,
			TokenURL: endpoint, Scopes: d.creds.scopes, AuthStyle: oauth2.AuthStyleInHeader}
		d.src = cfg.TokenSource(context.WithValue(context.Background(), oauth2.HTTPClient, d.hc))
	}
	return d.src.Token()
}

// discover reads the authorization server's metadata (RFC 8414) and
// returns its token endpoint.
func (d *discoveringSource) discover() (string, error) {
	req, err := http.NewRequest(http.MethodGet, d.server+"/.well-known/oauth-authorization-server", nil)
	if err != nil {
		return "", err
	}
	resp, err := d.hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("lattice: discovering the token endpoint: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("lattice: discovering the token endpoint: %w", problemOf(resp))
	}
	defer resp.Body.Close()
	var meta struct {
		Issuer        string `json:"issuer"`
		TokenEndpoint string `json:"token_endpoint"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxMetadataBytes)).Decode(&meta); err != nil {
		return "", fmt.Errorf("lattice: discovering the token endpoint: the metadata is not JSON: %w", err)
	}
	// RFC 8414 §3.3: metadata naming another issuer than the one asked
	// must not be used (it would send the client's secret elsewhere).
	if strings.TrimRight(meta.Issuer, "/") != d.server {
		return "", fmt.Errorf("lattice: discovering the token endpoint: the metadata's issuer %q is not the base URL %q (AUTH_ISSUER must be the URL clients use)", meta.Issuer, d.server)
	}
	u, err := url.Parse(meta.TokenEndpoint)
	if err != nil || !u.IsAbs() || (u.Scheme != "https" && u.Scheme != "http") {
		return "", errors.New("lattice: discovering the token endpoint: the metadata has no absolute token_endpoint")
	}
	return meta.TokenEndpoint, nil
}
