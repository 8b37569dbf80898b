package proxy

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/platform/problem"
)

// Shedder limits requests in flight. Past its limit, requests are refused
// at once with 503 and Retry-After rather than queued, so the admitted
// ones keep their latency.
type Shedder struct {
	slots chan struct{}
	shed  prometheus.Counter
}

// ErrBusy is the refusal of a request past the limit.
var ErrBusy = &fault.Error{Kind: fault.Unavailable, Message: "the gateway is at capacity; retry shortly", RetryAfterSeconds: 1}

// NewShedder admits max requests at once. It registers
// lattice_gateway_inflight and lattice_gateway_shed_total on reg.
func NewShedder(max int, reg prometheus.Registerer) (*Shedder, error) {
	s := &Shedder{slots: make(chan struct{}, max), shed: prometheus.NewCounter(prometheus.CounterOpts{Name: "lattice_gateway_shed_total",
		Help: "Requests refused with 503 because the gateway had GATEWAY_MAX_INFLIGHT requests in flight."})}
	inflight := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "lattice_gateway_inflight",
		Help: "Requests in flight through the gateway (shedding starts at GATEWAY_MAX_INFLIGHT)."},
		func() float64 { return float64(len(s.slots)) })
	for _, c := range []prometheus.Collector{s.shed, inflight} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Admit takes a slot and reports true, or counts the request shed and
// reports false. A true must be followed by Done.
func (s *Shedder) Admit() bool {
	select {
	case s.slots <- struct{}{}:
		return true
	default:
		s.shed.Inc()
		return false
	}
}

// Done frees an admitted request's slot.
func (s *Shedder) Done() { <-s.slots }

// Middleware sheds what next would be asked past the limit.
func (s *Shedder) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.Admit() {
			problem.Write(w, r, ErrBusy)
			return
		}
		defer s.Done()
		next.ServeHTTP(w, r)
	})
}
