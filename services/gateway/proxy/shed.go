package proxy

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/platform/problem"
)

// Shed limits requests in flight to max. Past it, requests are refused at
// once with 503 and Retry-After rather than queued, so the admitted ones
// keep their latency. It registers lattice_gateway_inflight and
// lattice_gateway_shed_total on reg.
func Shed(max int, reg prometheus.Registerer) (func(http.Handler) http.Handler, error) {
	slots := make(chan struct{}, max)
	busy := &fault.Error{Kind: fault.Unavailable, Message: "the gateway is at capacity; retry shortly", RetryAfterSeconds: 1}
	shed := prometheus.NewCounter(prometheus.CounterOpts{Name: "lattice_gateway_shed_total",
		Help: "Requests refused with 503 because the gateway had GATEWAY_MAX_INFLIGHT requests in flight."})
	inflight := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "lattice_gateway_inflight",
		Help: "Requests in flight through the gateway (shedding starts at GATEWAY_MAX_INFLIGHT)."},
		func() float64 { return float64(len(slots)) })
	for _, c := range []prometheus.Collector{shed, inflight} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case slots <- struct{}{}:
				defer func() { <-slots }()
				next.ServeHTTP(w, r)
			default:
				shed.Inc()
				problem.Write(w, r, busy)
			}
		})
	}, nil
}
