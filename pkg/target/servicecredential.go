package target

import (
	"context"
	"slices"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/platform/tlsfiles"
	"github.com/lattice-platform/lattice/pkg/ports"
)

// serviceCredentialOnlyFrom keeps the platform's own credential inside the
// platform. The service client's tokens read every resource
// (resources:admin), and every service is given its secret; with mutual
// TLS on, such a token is honoured only on a request that came with the
// verified certificate of a service that calls with it (callers). The
// gateway's certificate never counts, for it forwards its users' requests
// and vouches for none of them. A leaked service secret is then of no use
// from outside, through the gateway or around it.
type serviceCredentialOnlyFrom struct {
	next     ports.TokenVerifier
	clientID string
	callers  []string
}

// errServiceCredential says why, without naming the client or the peer.
var errServiceCredential = fault.New(fault.Forbidden, "the platform's service credential is accepted only from the certificate of a service that uses it")

func (v serviceCredentialOnlyFrom) Verify(ctx context.Context, bearer string) (ports.Identity, error) {
	id, err := v.next.Verify(ctx, bearer)
	if err != nil || id.ClientID != v.clientID || id.Subject != v.clientID {
		return id, err
	}
	if peer := tlsfiles.PeerOf(ctx); peer == "" || !slices.Contains(v.callers, peer) {
		return ports.Identity{}, errServiceCredential
	}
	return id, nil
}

// serviceCredentialCallers are the identities whose certificates may carry
// the service credential: the targets that declare they use it, and this
// process's own certificate when it runs one of them (one process serving
// several targets has one certificate).
func (p *Platform) serviceCredentialCallers() []string {
	callers := slices.DeleteFunc(slices.Clone(p.holders), func(n string) bool { return n == gatewayIdentity })
	store, err := p.TLS()
	if err != nil || store == nil || !slices.ContainsFunc(p.running, func(n string) bool { return slices.Contains(callers, n) }) {
		return callers
	}
	if own := store.Identity(); own != "" && own != gatewayIdentity {
		callers = append(callers, own)
	}
	return callers
}

// gatewayIdentity is the gateway's service name in its certificate.
const gatewayIdentity = "gateway"
