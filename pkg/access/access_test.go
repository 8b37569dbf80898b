package access_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/access"
)

func TestCanSee(t *testing.T) {
	anon := access.Caller{}
	owner := access.Caller{Subject: "u1", Scopes: []string{access.ResourcesRead}}
	reader := access.Caller{Subject: "u2", Scopes: []string{access.ResourcesRead}}
	noRead := access.Caller{Subject: "u1", Scopes: []string{access.SearchRead}}
	admin := access.Caller{Subject: "ops", Scopes: []string{access.ResourcesAdmin}}
	for _, tc := range []struct {
		name       string
		c          access.Caller
		visibility string
		want       bool
	}{
		{"public to anyone", anon, access.Public, true},
		{"public to a credential without read", noRead, access.Public, true},
		{"internal not to anonymous", anon, access.Internal, false},
		{"internal to any reader", reader, access.Internal, true},
		{"internal not without resources:read", noRead, access.Internal, false},
		{"private to its owner", owner, access.Private, true},
		{"private not to another reader", reader, access.Private, false},
		{"private not to its owner without resources:read", noRead, access.Private, false},
		{"private to an admin", admin, access.Private, true},
	} {
		require.Equal(t, tc.want, tc.c.CanSee("u1", tc.visibility), tc.name)
	}
}

func TestCallerTravelsInTheContext(t *testing.T) {
	require.True(t, access.CallerFrom(context.Background()).Anonymous(), "no caller is anonymous")
	c := access.Caller{Subject: "u1", Scopes: []string{access.ResourcesRead}, Credential: "t"}
	require.Equal(t, c, access.CallerFrom(access.WithCaller(context.Background(), c)))
}

func TestTheCredentialIsNeverPrinted(t *testing.T) {
	c := access.Caller{Subject: "u1", Scopes: []string{access.ResourcesRead}, Credential: "s3cret-token"}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("request", "caller", c)
	for _, out := range []string{fmt.Sprint(c), fmt.Sprintf("%v %s", c, c), logged.String()} {
		require.NotContains(t, out, "s3cret-token")
		require.Contains(t, out, "u1")
	}
}
