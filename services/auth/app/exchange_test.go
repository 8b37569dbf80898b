package app_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/app/fake"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

// legacySessions is a LegacySessionVerifier over a fixed table of tokens
// (token → legacy user id); "broken" is a check that could not be made.
type legacySessions map[string]string

func (l legacySessions) Verify(_ context.Context, token string) (string, error) {
	if token == "broken" {
		return "", errors.New("the monolith is down")
	}
	if sub, ok := l[token]; ok {
		return sub, nil
	}
	return "", app.ErrLegacySessionInvalid
}

// TestTokenExchangeOfLegacySessions: a legacy session of an imported user
// becomes an access token for that user, with their role's scopes, for a
// client registered for the grant; every other case is refused with the
// RFC 8693 error a client can act on.
func TestTokenExchangeOfLegacySessions(t *testing.T) {
	t.Parallel()
	oversized := strings.Repeat("x", 8<<10+1)
	ctx := context.Background()
	users, legacy := fake.NewUserRepository(), fake.NewLegacyIDs()
	svc, _, outbox := setupEditing(t, app.Options{Issuer: issuer}, func(d *app.Deps) {
		d.Users, d.LegacyIDs = users, legacy
		// A session over the 8 KiB bound that the verifier would take: only
		// the bound refuses it.
		d.LegacySessions = legacySessions{"live-7": "7", "live-8": "8", oversized: "7"}
	})
	require.Contains(t, svc.GrantTypes(), domain.GrantTokenExchange, "discovery lists the grant")
	imported, err := svc.ImportUser(ctx, app.ImportedUser{LegacyID: "7", Email: "grace@monolith.example", DisplayName: "Grace",
		PasswordHash: "$2b$04$0ehisEbhH79wZy0Rit8gCujAxj7aLDsjZV0pczUMm0ZtRkSR2JsWK"}, false)
	require.NoError(t, err)
	gateway, err := svc.RegisterClient(ctx, app.ClientInput{Name: "Gateway", Type: domain.ClientConfidential,
		GrantTypes: []string{domain.GrantTokenExchange}})
	require.NoError(t, err)
	robot, err := svc.RegisterClient(ctx, app.ClientInput{Name: "Robot", Type: domain.ClientConfidential,
		GrantTypes: []string{domain.GrantClientCredentials}})
	require.NoError(t, err)
	_, err = svc.RegisterClient(ctx, app.ClientInput{Name: "SPA", Type: domain.ClientPublic, GrantTypes: []string{domain.GrantTokenExchange}})
	require.Error(t, err, "only a confidential client may exchange")

	exchange := func(c app.NewClient, token, tokenType string) (app.TokenResponse, error) {
		return svc.Token(ctx, app.TokenRequest{GrantType: domain.GrantTokenExchange, ClientID: c.Client.ID, ClientSecret: c.Secret,
			SubjectToken: token, SubjectTokenType: tokenType})
	}
	res, err := exchange(gateway, "live-7", domain.TokenTypeLegacySession)
	require.NoError(t, err)
	require.Equal(t, domain.TokenTypeAccessToken, res.IssuedTokenType)
	require.Empty(t, res.RefreshToken)
	p, err := svc.Authenticate(ctx, res.AccessToken)
	require.NoError(t, err)
	require.Equal(t, imported.ID, p.UserID)
	require.Equal(t, gateway.Client.ID, p.ClientID)
	require.ElementsMatch(t, domain.RoleScopes(domain.RoleUser), p.Scopes)
	require.Contains(t, string(outbox.Events()[len(outbox.Events())-1].Payload), `"action":"token.exchanged"`)

	narrowed, err := svc.Token(ctx, app.TokenRequest{GrantType: domain.GrantTokenExchange, ClientID: gateway.Client.ID, ClientSecret: gateway.Secret,
		SubjectToken: "live-7", SubjectTokenType: domain.TokenTypeLegacySession, Scope: "resources:read"})
	require.NoError(t, err)
	require.Equal(t, []domain.Scope{"resources:read"}, narrowed.Scopes)

	for name, c := range map[string]struct {
		client    app.NewClient
		token     string
		tokenType string
		code      string
	}{
		"forged or expired":        {gateway, "forged", domain.TokenTypeLegacySession, domain.ErrInvalidGrant},
		"a user never imported":    {gateway, "live-8", domain.TokenTypeLegacySession, domain.ErrInvalidGrant},
		"another token type":       {gateway, "live-7", domain.TokenTypeAccessToken, domain.ErrInvalidRequest},
		"no subject token":         {gateway, "", domain.TokenTypeLegacySession, domain.ErrInvalidRequest},
		"a token over 8 KiB":       {gateway, oversized, domain.TokenTypeLegacySession, domain.ErrInvalidGrant},
		"a client without a grant": {robot, "live-7", domain.TokenTypeLegacySession, domain.ErrUnauthorizedClient},
	} {
		_, err := exchange(c.client, c.token, c.tokenType)
		require.Equal(t, c.code, oauthCode(t, err), name)
	}
	_, err = exchange(gateway, "broken", domain.TokenTypeLegacySession)
	require.Error(t, err)
	var oe *domain.OAuthError
	require.NotErrorAs(t, err, &oe, "an outage is not the caller's fault")

	plain, _ := setup(t)
	require.NotContains(t, plain.GrantTypes(), domain.GrantTokenExchange, "without a verifier the grant is not offered")
	_, err = plain.Token(ctx, app.TokenRequest{GrantType: domain.GrantTokenExchange, ClientID: "x"})
	require.Equal(t, domain.ErrInvalidClient, oauthCode(t, err))
}
