package target

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/platform/tlsfiles"
	"github.com/lattice-platform/lattice/pkg/ports"
)

type identities map[string]ports.Identity

func (m identities) Verify(_ context.Context, bearer string) (ports.Identity, error) {
	id, ok := m[bearer]
	if !ok {
		return ports.Identity{}, fault.New(fault.Unauthenticated, "unknown")
	}
	return id, nil
}

// TestTheServiceCredentialIsHonouredOnlyFromItsUsersCertificates: the
// service client's token passes only with a certificate of a target that
// uses it; the gateway's never counts; other credentials are untouched.
func TestTheServiceCredentialIsHonouredOnlyFromItsUsersCertificates(t *testing.T) {
	v := serviceCredentialOnlyFrom{clientID: "svc", callers: []string{"processing"}, next: identities{
		"service": {Subject: "svc", ClientID: "svc", Scopes: []string{"resources:admin"}},
		"user":    {Subject: "u1", ClientID: "svc"}, // a user's token issued through the same client id
		"robot":   {Subject: "reporting", ClientID: "reporting"},
	}}
	for peer, ok := range map[string]bool{"": false, "gateway": false, "search": false, "operator": false, "processing": true} {
		ctx := context.Background()
		if peer != "" {
			ctx = tlsfiles.WithPeer(ctx, peer)
		}
		id, err := v.Verify(ctx, "service")
		if ok {
			require.NoError(t, err, peer)
			require.Equal(t, "svc", id.Subject)
			continue
		}
		require.True(t, fault.Of(err, fault.Forbidden), "%q: %v", peer, err)
		require.Empty(t, id.Scopes, "a refusal carries no identity")
		for _, other := range []string{"user", "robot"} {
			_, err := v.Verify(ctx, other)
			require.NoError(t, err, "%s from %q", other, peer)
		}
	}
	_, err := v.Verify(context.Background(), "forged")
	require.True(t, fault.Of(err, fault.Unauthenticated), "the inner verdict stands")

	p := &Platform{holders: []string{"processing", "gateway"}, running: []string{"resource"}}
	require.Equal(t, []string{"processing"}, p.serviceCredentialCallers(), "the gateway is never a caller")
}
