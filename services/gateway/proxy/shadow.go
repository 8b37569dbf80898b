package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lattice-platform/lattice/services/gateway/domain"
)

// shadowLimit caps the bodies a shadowed request keeps for the copy and
// the comparison; larger exchanges are served but not shadowed.
const shadowLimit = 1 << 20

// shadower mirrors requests to a secondary upstream after the primary has
// answered the client, and compares the two answers. Mirrors run in the
// background with bounded concurrency: when all slots are busy the mirror
// is skipped (and counted), so shadowing never slows or changes what the
// client gets.
type shadower struct {
	client  *http.Client
	slots   chan struct{}
	results *prometheus.CounterVec
	log     *slog.Logger
	diffs   atomic.Int64
	stats   sync.Map // route prefix → *shadowStats
}

// ShadowStats are one route's comparisons on this replica since it
// started: how many were compared and matched, how many could not be
// compared (the mirror failed, or was skipped because a body was too big
// or every comparison slot was busy), and the latest differences, redacted.
// Every shadowed request ends in exactly one of Compared, Failed and
// Skipped, so their sum says when a burst of requests has been judged.
type ShadowStats struct {
	Compared, Matched int64
	Failed, Skipped   int64
	Recent            []ShadowDiff // newest last, at most MaxRecentDiffs
}

// ShadowDiff is one difference, with both bodies redacted and truncated.
type ShadowDiff struct {
	At                          time.Time
	Method, Path                string
	PrimaryStatus, ShadowStatus int
	PrimaryBody, ShadowBody     string
}

// MaxRecentDiffs is how many differences a route keeps for its status.
const MaxRecentDiffs = 5

// shadowStats are guarded by one lock, so that a reader never sees a
// comparison counted but its outcome not yet (a mismatch without its diff,
// or compared ahead of matched). Shadowing is off the request path, so the
// lock costs the client nothing.
type shadowStats struct {
	mu                                 sync.Mutex
	compared, matched, failed, skipped int64
	recent                             []ShadowDiff
}

// uncompared counts a shadowed request that ends without a comparison.
func (s *shadower) uncompared(prefix, result string) {
	st := s.statsOf(prefix)
	st.mu.Lock()
	if result == "skipped" {
		st.skipped++
	} else {
		st.failed++
	}
	st.mu.Unlock()
	s.results.WithLabelValues(prefix, result).Inc()
}

func (s *shadower) statsOf(prefix string) *shadowStats {
	if v, ok := s.stats.Load(prefix); ok {
		return v.(*shadowStats)
	}
	v, _ := s.stats.LoadOrStore(prefix, &shadowStats{})
	return v.(*shadowStats)
}

// ShadowStats returns the route's comparisons on this replica.
func (g *Gateway) ShadowStats(prefix string) ShadowStats {
	if g.shadow == nil {
		return ShadowStats{}
	}
	st := g.shadow.statsOf(prefix)
	st.mu.Lock()
	defer st.mu.Unlock()
	return ShadowStats{Compared: st.compared, Matched: st.matched, Failed: st.failed, Skipped: st.skipped, Recent: slices.Clone(st.recent)}
}

// EnableShadow turns shadow routes on, counting outcomes on reg, with at
// most concurrency mirrors in flight. Mirrors connect as the proxy does
// (UseTransport: the upstreams' CA and the gateway's client certificate),
// so call it after UseTransport.
func (g *Gateway) EnableShadow(reg prometheus.Registerer, concurrency int) {
	results := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lattice_gateway_shadow_total",
		Help: "Shadowed requests by route and outcome (match, diff, error, skipped).",
	}, []string{"route", "result"})
	reg.MustRegister(results)
	base := g.upstreamTransport()
	// As many idle connections as mirrors in flight: with the default two,
	// a busy shadow phase would dial for most mirrors.
	base.MaxIdleConnsPerHost = concurrency
	g.shadow = &shadower{client: &http.Client{Timeout: 10 * time.Second, Transport: base}, slots: make(chan struct{}, concurrency), results: results, log: g.log}
}

// teeWriter passes the primary's response to the client while keeping a
// bounded copy of it.
type teeWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
	over   bool
}

func (t *teeWriter) WriteHeader(code int) {
	t.status = code
	t.ResponseWriter.WriteHeader(code)
}

func (t *teeWriter) Write(p []byte) (int, error) {
	if t.status == 0 {
		t.status = http.StatusOK
	}
	if !t.over {
		if t.body.Len()+len(p) > shadowLimit {
			t.over = true
		} else {
			t.body.Write(p)
		}
	}
	return t.ResponseWriter.Write(p)
}

func (t *teeWriter) Flush() {
	if f, ok := t.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *shadower) serve(w http.ResponseWriter, r *http.Request, route domain.Route, target *url.URL, primary *httputil.ReverseProxy) {
	reqBody, err := io.ReadAll(io.LimitReader(r.Body, shadowLimit+1))
	if err != nil {
		primary.ServeHTTP(w, r) // the proxy reports the broken body
		return
	}
	tooBig := len(reqBody) > shadowLimit
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(reqBody), r.Body))
	tee := &teeWriter{ResponseWriter: w}
	primary.ServeHTTP(tee, r)
	if tooBig || tee.over {
		s.uncompared(route.Prefix, "skipped")
		return
	}
	select {
	case s.slots <- struct{}{}:
	default:
		s.uncompared(route.Prefix, "skipped")
		return
	}
	mirror := r.Clone(context.WithoutCancel(r.Context()))
	go func() {
		defer func() { <-s.slots }()
		s.compare(mirror, reqBody, route, target, tee.status, tee.body.Bytes())
	}()
}

func (s *shadower) compare(r *http.Request, body []byte, route domain.Route, target *url.URL, status int, primary []byte) {
	u := *target
	u.Path = r.URL.Path
	u.RawQuery = r.URL.RawQuery
	req, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		s.uncompared(route.Prefix, "error")
		return
	}
	req.Header = r.Header.Clone()
	req.Header.Set("X-Lattice-Shadow", "1")
	forUpstream(req, route.Shadow.Upstream)
	resp, err := s.client.Do(req)
	if err != nil {
		s.uncompared(route.Prefix, "error")
		return
	}
	defer resp.Body.Close()
	secondary, err := io.ReadAll(io.LimitReader(resp.Body, shadowLimit+1))
	if err != nil || len(secondary) > shadowLimit {
		s.uncompared(route.Prefix, "error")
		return
	}
	st := s.statsOf(route.Prefix)
	if resp.StatusCode == status && sameJSON(primary, secondary, route.Shadow.Ignore, route.Shadow.Unordered) {
		st.mu.Lock()
		st.compared++
		st.matched++
		st.mu.Unlock()
		s.results.WithLabelValues(route.Prefix, "match").Inc()
		return
	}
	s.results.WithLabelValues(route.Prefix, "diff").Inc()
	d := ShadowDiff{At: time.Now().UTC(), Method: r.Method, Path: r.URL.Path, PrimaryStatus: status, ShadowStatus: resp.StatusCode,
		PrimaryBody: truncate(redact(primary)), ShadowBody: truncate(redact(secondary))}
	st.mu.Lock()
	st.compared++
	st.recent = append(st.recent, d)
	if len(st.recent) > MaxRecentDiffs {
		st.recent = st.recent[len(st.recent)-MaxRecentDiffs:]
	}
	st.mu.Unlock()
	// Sample the diff log: the first ten, then one in a hundred.
	if n := s.diffs.Add(1); n <= 10 || n%100 == 0 {
		s.log.Info("shadow diff", "route", route.Prefix, "method", r.Method, "path", r.URL.Path,
			"primary_status", status, "shadow_status", resp.StatusCode,
			"primary_body", truncate(redact(primary)), "shadow_body", truncate(redact(secondary)))
	}
}

// sameJSON compares two bodies as JSON with the ignored fields removed at
// every depth, the arrays under unordered fields compared as multisets,
// and timestamps compared as instants (2026-11-29T12:00:00+00:00 equals
// 2026-11-29T12:00:00Z); bodies that are not JSON compare byte for byte.
func sameJSON(a, b []byte, ignore, unordered []string) bool {
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return bytes.Equal(a, b)
	}
	n := normalizer{drop: map[string]bool{}, unordered: map[string]bool{}}
	for _, f := range ignore {
		n.drop[f] = true
	}
	for _, f := range unordered {
		n.unordered[f] = true
	}
	return reflect.DeepEqual(n.normalize(va, false), n.normalize(vb, false))
}

// normalizer puts a decoded JSON value in the form two equivalent answers
// share.
type normalizer struct{ drop, unordered map[string]bool }

func (n normalizer) normalize(v any, asSet bool) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			if !n.drop[k] {
				out[k] = n.normalize(x, n.unordered[k])
			}
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = n.normalize(x, false)
		}
		if asSet {
			keys := make([]string, len(out))
			for i, x := range out {
				b, _ := json.Marshal(x) // maps marshal with sorted keys
				keys[i] = string(b)
			}
			sort.Sort(byKey{keys, out})
		}
		return out
	case string:
		if ts, err := time.Parse(time.RFC3339Nano, t); err == nil {
			return ts.UTC().Format(time.RFC3339Nano)
		}
	}
	return v
}

// byKey sorts values by their JSON text.
type byKey struct {
	keys []string
	vals []any
}

func (b byKey) Len() int           { return len(b.keys) }
func (b byKey) Less(i, j int) bool { return b.keys[i] < b.keys[j] }
func (b byKey) Swap(i, j int) {
	b.keys[i], b.keys[j] = b.keys[j], b.keys[i]
	b.vals[i], b.vals[j] = b.vals[j], b.vals[i]
}

// secretKeys are JSON fields whose values never reach a log.
var secretKeys = map[string]bool{
	"password": true, "token": true, "access_token": true, "refresh_token": true, "id_token": true,
	"secret": true, "client_secret": true, "api_key": true, "key": true, "code": true, "code_verifier": true,
	"cookie": true, "set-cookie": true, "authorization": true, "session": true, "csrf_token": true,
}

// secretValues match credentials wherever they stand: Lattice's prefixed
// tokens, JWTs, and cookie or bearer headers quoted in a body.
var secretValues = regexp.MustCompile(`\blt[a-z]_[A-Za-z0-9_\-]+|\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*|(?i)(bearer|basic)\s+[A-Za-z0-9._~+/=\-]+|(?i)(lattice_session|lattice_csrf)=[^;\s"]+`)

// redact removes credentials from a body before it is logged: the values
// of secret-looking JSON fields at every depth, then anything shaped like
// a token in what remains.
func redact(b []byte) []byte {
	var v any
	if json.Unmarshal(b, &v) == nil {
		if out, err := json.Marshal(redactJSON(v)); err == nil {
			b = out
		}
	}
	return secretValues.ReplaceAll(b, []byte("[redacted]"))
}

func redactJSON(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if secretKeys[strings.ToLower(k)] {
				t[k] = "[redacted]"
			} else {
				t[k] = redactJSON(x)
			}
		}
	case []any:
		for i, x := range t {
			t[i] = redactJSON(x)
		}
	}
	return v
}

func truncate(b []byte) string {
	if len(b) > 512 {
		return string(b[:512]) + "…"
	}
	return string(b)
}
