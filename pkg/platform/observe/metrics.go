package observe

import (
	"encoding/json"
	"maps"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is one service's Prometheus registry with the standard HTTP
// instruments. Each service has its own registry so that, when several run
// in one process, each /metrics shows only its own traffic.
type Metrics struct {
	Registry *prometheus.Registry
	requests *prometheus.CounterVec
	errors   *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	ready    prometheus.GaugeFunc
	changes  prometheus.Counter
	last     atomic.Int32 // the last readiness answer: 0 none yet, 1 ready, 2 not ready
	// series holds each seriesKey's instruments once resolved: the
	// vectors' own lookup hashes every label byte under a lock, which on
	// the gateway's proxied path was as costly as the rest of Observe.
	series sync.Map // seriesKey → *seriesSet
}

// seriesKey names one request series; the method is its index in
// methodLabels.
type seriesKey struct {
	route  string
	method uint8
	status int
}

// seriesSet is a series' instruments; errors is nil below 500.
type seriesSet struct {
	requests, errors prometheus.Counter
	latency          prometheus.Observer
}

// NewMetrics creates the registry and the HTTP instruments for service.
func NewMetrics(service string) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	labels := prometheus.Labels{"service": service}
	m := &Metrics{
		Registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lattice_http_requests_total", Help: "HTTP requests by route, method and status.", ConstLabels: labels,
		}, []string{"route", "method", "status"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lattice_http_errors_total", Help: "HTTP responses with status >= 500 by route and method.", ConstLabels: labels,
		}, []string{"route", "method"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "lattice_http_request_duration_seconds", Help: "HTTP request latency by route and method.", ConstLabels: labels,
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .3, .5, 1, 2.5, 5, 10}, // 0.3: the latency objective
		}, []string{"route", "method"}),
	}
	// NaN until the first probe: a process nobody probes (make run) is
	// neither ready nor not ready, and pages no one.
	m.ready = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "lattice_ready", Help: "1 when the last readiness probe passed, 0 when it failed (NaN before the first).", ConstLabels: labels,
	}, func() float64 {
		switch m.last.Load() {
		case 1:
			return 1
		case 2:
			return 0
		}
		return math.NaN()
	})
	m.changes = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "lattice_readiness_changes_total", Help: "Times the readiness answer changed between probes (flapping shows as a fast rate).", ConstLabels: labels,
	})
	reg.MustRegister(m.requests, m.errors, m.latency, m.ready, m.changes)
	return m
}

// ReportReadiness records a readiness answer. Changes are counted at the
// probe, not at the scrape, so flapping between two scrapes still shows.
func (m *Metrics) ReportReadiness(ready bool) {
	state := int32(2)
	if ready {
		state = 1
	}
	if prev := m.last.Swap(state); prev != 0 && prev != state {
		m.changes.Inc()
	}
}

// Catalog is the name of every metric family the registry can export,
// sorted, including those with no series yet (a labelled family shows in
// /metrics only once it has one). The dashboards and alerts are checked
// against it.
func (m *Metrics) Catalog() []string {
	descs := make(chan *prometheus.Desc)
	go func() {
		m.Registry.Describe(descs)
		close(descs)
	}()
	seen := map[string]bool{}
	for d := range descs {
		if name := descName.FindStringSubmatch(d.String()); name != nil {
			seen[name[1]] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// descName finds the name in a Desc's String form, the only place the
// client library shows it.
var descName = regexp.MustCompile(`fqName: "([a-zA-Z_:][a-zA-Z0-9_:]*)"`)

// CatalogHandler serves Catalog as JSON: {"metrics": [names]}.
func (m *Metrics) CatalogHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string][]string{"metrics": m.Catalog()})
	})
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// Measured returns w as a writer that records the status and the bytes
// written: w itself when an outer middleware already measures it (each
// wraps before anything is written, so all see the same figures), else a
// new wrapper. Every wrapper costs two allocations on every request.
func Measured(w http.ResponseWriter, r *http.Request) middleware.WrapResponseWriter {
	if ww, ok := w.(middleware.WrapResponseWriter); ok {
		return ww
	}
	return middleware.NewWrapResponseWriter(w, r.ProtoMajor)
}

// statusLabels are the status codes as label values, formatted once.
var statusLabels = func() (s [600]string) {
	for i := range s {
		s[i] = strconv.Itoa(i)
	}
	return s
}()

func statusLabel(status int) string {
	if status >= 0 && status < len(statusLabels) {
		return statusLabels[status]
	}
	return strconv.Itoa(status)
}

// Middleware records each request under its chi route pattern, never the raw
// path, so that ids in URLs do not explode label cardinality.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := Measured(w, r)
		next.ServeHTTP(ww, r)
		route := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			route = rc.RoutePattern()
		}
		m.Observe(route, r.Method, ww.Status(), time.Since(start))
	})
}

// Observe counts one request the middleware did not see (one served
// without net/http): its route pattern, method, status (0: 200) and
// duration.
func (m *Metrics) Observe(route, method string, status int, took time.Duration) {
	if status == 0 {
		status = http.StatusOK
	}
	s := m.seriesFor(seriesKey{route: route, method: methodIndex(method), status: status})
	s.requests.Inc()
	if s.errors != nil {
		s.errors.Inc()
	}
	s.latency.Observe(took.Seconds())
}

// seriesFor is k's instruments, resolved the first time k is seen. Every
// part of k is bounded (routes by the route table or the router,
// methods by methodLabels, statuses by their three digits), so the map
// is too.
func (m *Metrics) seriesFor(k seriesKey) *seriesSet {
	if s, ok := m.series.Load(k); ok {
		return s.(*seriesSet)
	}
	method := methodLabels[k.method]
	s := &seriesSet{
		requests: m.requests.WithLabelValues(k.route, method, statusLabel(k.status)),
		latency:  m.latency.WithLabelValues(k.route, method),
	}
	if k.status >= 500 {
		s.errors = m.errors.WithLabelValues(k.route, method)
	}
	actual, _ := m.series.LoadOrStore(k, s)
	return actual.(*seriesSet)
}

// methodLabels are the method label's values: RFC 9110's methods and
// PATCH under their own names, and OTHER for any other token, since a
// client may send any, and each new label value would be a new series
// kept for the process's life.
var methodLabels = [...]string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace, "OTHER"}

// methodIndex is method's index in methodLabels.
func methodIndex(method string) uint8 {
	for i, m := range methodLabels[:len(methodLabels)-1] {
		if m == method {
			return uint8(i)
		}
	}
	return uint8(len(methodLabels) - 1)
}
