package proxy

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lattice-platform/lattice/services/gateway/pool"
)

// balanced sends a request to the replica the proxy picked and keeps the
// pool's passive health: a refused connection, or an answer of 502, 503 or
// 504, counts against the replica. A request that never reached a replica
// (the connection failed) goes to another when it is idempotent (GET, HEAD,
// OPTIONS, TRACE, PUT, DELETE, or any with an Idempotency-Key) and its body
// can be sent again; any other failure is answered as it is, never
// repeated.
type balanced struct {
	next    http.RoundTripper
	retried func(upstream string)
}

func (b balanced) RoundTrip(req *http.Request) (*http.Response, error) {
	m, _ := req.Context().Value(routeKey{}).(*pool.Member)
	for {
		resp, err := b.next.RoundTrip(req)
		if m == nil {
			return resp, err
		}
		status := 0
		if err == nil {
			status = resp.StatusCode
		}
		other := settle(m, status, err, replayable(req), b.retried)
		if other == nil {
			return resp, err
		}
		req = req.Clone(req.Context())
		req.URL.Scheme, req.URL.Host = other.URL.Scheme, other.URL.Host
		if req.GetBody != nil {
			if req.Body, err = req.GetBody(); err != nil {
				return nil, err
			}
		}
		m = other
	}
}

// settle records an attempt's outcome in m's pool (a refused connection,
// or an answer of 502, 503 or 504, counts against m) and returns the
// replica to try next: another one when the request never reached m and
// repeating it is harmless, else nil. retried, when set, counts the
// retry.
func settle(m *pool.Member, status int, err error, repeatable bool, retried func(upstream string)) *pool.Member {
	replicas := m.Pool()
	if err == nil && !unhealthy(status) {
		replicas.Succeeded(m)
		return nil
	}
	replicas.Failed(m)
	if err == nil || !neverSent(err) || !repeatable {
		return nil
	}
	other := replicas.Pick(m)
	if other != nil && retried != nil {
		retried(replicas.Name)
	}
	return other
}

func unhealthy(status int) bool {
	return status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}

// neverSent reports a failure to connect: the replica saw nothing.
func neverSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// replayable reports whether req may be sent to another replica.
func replayable(req *http.Request) bool {
	return idempotent(req) && (req.Body == nil || req.Body == http.NoBody || req.GetBody != nil)
}

// idempotent reports whether repeating req is harmless: its method says
// so, or it carries an Idempotency-Key.
func idempotent(req *http.Request) bool {
	return idempotentMethod(req.Method) || req.Header.Get("Idempotency-Key") != ""
}

// idempotentMethod reports a method whose repetition is harmless.
func idempotentMethod(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// poolMetrics are the upstream pools as Prometheus sees them.
type poolMetrics struct {
	ejections, retries *prometheus.CounterVec
}

// EnablePoolMetrics registers the pools' metrics with reg:
// lattice_gateway_upstream_replicas{upstream,state} (in rotation or
// ejected, read at each scrape), lattice_gateway_upstream_ejections_total
// and lattice_gateway_upstream_retries_total.
func (g *Gateway) EnablePoolMetrics(reg prometheus.Registerer) error {
	m := &poolMetrics{
		ejections: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lattice_gateway_upstream_ejections_total",
			Help: "Replicas ejected from their upstream's rotation after repeated failures."}, []string{"upstream"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lattice_gateway_upstream_retries_total",
			Help: "Idempotent requests sent to another replica after a refused connection."}, []string{"upstream"}),
	}
	collector := &replicaCollector{g: g, desc: prometheus.NewDesc("lattice_gateway_upstream_replicas",
		"An upstream's replicas: in rotation, ejected after failures, or not ready (their /readyz).", []string{"upstream", "state"}, nil)}
	for _, c := range []prometheus.Collector{m.ejections, m.retries, collector} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	g.poolMetrics = m
	return nil
}

func (g *Gateway) ejected(upstream string, m *pool.Member) {
	g.log.Warn("replica ejected after repeated failures", "upstream", upstream, "replica", m.URL.Host, "for", pool.DefaultEjectFor.String())
	if g.poolMetrics != nil {
		g.poolMetrics.ejections.WithLabelValues(upstream).Inc()
	}
}

func (g *Gateway) retried(upstream string) {
	if g.poolMetrics != nil {
		g.poolMetrics.retries.WithLabelValues(upstream).Inc()
	}
}

// replicaCollector reads the pools' states at each scrape.
type replicaCollector struct {
	g    *Gateway
	desc *prometheus.Desc
}

func (c *replicaCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *replicaCollector) Collect(ch chan<- prometheus.Metric) {
	for name, p := range c.g.upstreams {
		in, ejected, down := 0, 0, 0
		for _, m := range p.Members() {
			switch {
			case p.Down(m):
				down++
			case p.Ejected(m):
				ejected++
			default:
				in++
			}
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(in), name, "in_rotation")
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(ejected), name, "ejected")
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(down), name, "not_ready")
	}
}

// WatchHealth re-resolves the upstreams named by DNS and checks every
// replica's /readyz each interval until ctx ends (active health), through
// the gateway's upstream transport.
func (g *Gateway) WatchHealth(ctx context.Context, every time.Duration) {
	base := g.upstreamTransport()
	client := &http.Client{Transport: base, Timeout: every / 2}
	defer base.CloseIdleConnections()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		// Every upstream at once: a slow lookup or check of one must not
		// hold up the others' rounds.
		var wg sync.WaitGroup
		for _, p := range g.upstreams {
			wg.Go(func() {
				if err := p.Resolve(ctx); err != nil && ctx.Err() == nil {
					g.log.Warn("upstream lookup failed; keeping its replicas", "upstream", p.Name, "error", err)
				}
				p.Check(ctx, client)
			})
		}
		wg.Wait()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
