package proxy

import (
	"net/http"
	"time"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/platform/observe"
	"github.com/lattice-platform/lattice/pkg/platform/problem"
	"github.com/lattice-platform/lattice/services/gateway/pool"
)

// clientContextHeaders are what a client may send to pass for a proxy in
// front of the gateway; the gateway writes its own (setContext).
var clientContextHeaders = []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"}

// forwardFast sends r to m's upstream through g.fast and writes the answer
// (ADR 0032). It keeps what the reverse proxy's path does: the context
// headers upstreams trust, trace propagation and a client span when
// sampled, the pool's passive health, another replica for a request that
// never reached one when repeating it is harmless, and problem+json for an
// upstream that did not answer. The request is the gateway's own, so its
// headers are rewritten in place rather than copied.
func (g *Gateway) forwardFast(w http.ResponseWriter, r *http.Request, m *pool.Member, timeout time.Duration) {
	h := r.Header
	for _, k := range clientContextHeaders {
		delete(h, k)
	}
	setContext(h, r)
	ctx, end := observe.StartClientSpan(r.Context(), r.Method, m.URL.Host, r.URL.Path)
	observe.PropagateHTTP(ctx, h)
	req, err := g.fast.NewRequest(r)
	if err != nil {
		end(0, err)
		problem.Write(w, r, fault.Wrap(fault.Invalid, "the request body could not be read", err))
		return
	}
	defer req.Release()
	for {
		answer, err := g.fast.Send(req, m.URL, timeout)
		status := 0
		if err == nil {
			status = answer.StatusCode()
		}
		if other := settle(m, status, err, idempotent(r), g.retried); other != nil {
			m = other
			continue
		}
		if err != nil {
			end(0, err)
			upstreamFailed(w, r, err)
			return
		}
		end(status, nil)
		if err := answer.Write(r.Context(), w); err != nil {
			// The head is out, so the client must see the answer cut
			// short rather than complete; net/http's reverse proxy does
			// the same.
			panic(http.ErrAbortHandler)
		}
		return
	}
}
