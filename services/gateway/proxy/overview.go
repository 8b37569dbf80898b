package proxy

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sync"
	"time"

	"github.com/lattice-platform/lattice/pkg/platform/observe"
)

// overviewPath is the first composite endpoint (openapi/gateway.yaml).
var overviewPath = regexp.MustCompile(`^/v1/resources/([0-9a-fA-F-]{36})/overview$`)

// overviewPart is one upstream call of the composite.
type overviewPart struct {
	name, upstream, path string
}

type partResult struct {
	status int
	body   json.RawMessage
	err    string
}

// overview answers GET /v1/resources/{id}/overview: the resource, its jobs
// and its analytics counts, fetched in parallel with the caller's own
// credential. The resource decides visibility: if it is not 200, its answer
// is the answer. Other parts that fail or are slow become `errors` entries;
// parts the caller may not see (401/403/404) are left out.
func (g *Gateway) overview(w http.ResponseWriter, r *http.Request, id string) {
	parts := []overviewPart{
		{"resource", "resource", "/v1/resources/" + id},
		{"processing", "processing", "/v1/jobs?resource_id=" + url.QueryEscape(id)},
		{"analytics", "analytics", "/v1/analytics/resources/" + id},
	}
	results := make([]partResult, len(parts))
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i, p := range parts[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i+1] = g.fetchPart(ctx, r, p)
		}()
	}
	results[0] = g.fetchPart(ctx, r, parts[0])
	res := results[0]
	if res.status != http.StatusOK {
		cancel() // the other parts are not needed
	}
	wg.Wait()
	if res.status != http.StatusOK {
		// The resource's own answer (404 for what the caller may not see,
		// 401, or the upstream failure) stands for the whole.
		if res.err != "" {
			res.status, res.body = http.StatusBadGateway, problemJSON(r, http.StatusBadGateway, "bad-gateway", "the resource service is unreachable")
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(res.status)
		_, _ = w.Write(res.body)
		return
	}
	out := map[string]any{"resource": res.body}
	errs := []map[string]string{}
	for i, p := range parts[1:] {
		pr := results[i+1]
		switch {
		case pr.status == http.StatusOK:
			out[p.name] = pr.body
		case pr.status == http.StatusUnauthorized || pr.status == http.StatusForbidden || pr.status == http.StatusNotFound:
			// not the caller's to see
		case pr.err != "":
			errs = append(errs, map[string]string{"part": p.name, "detail": pr.err})
		default:
			errs = append(errs, map[string]string{"part": p.name, "detail": "the " + p.upstream + " service answered " + http.StatusText(pr.status)})
		}
	}
	out["errors"] = errs
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func (g *Gateway) fetchPart(ctx context.Context, in *http.Request, p overviewPart) partResult {
	base, ok := g.upstreams[p.upstream]
	if !ok {
		return partResult{err: "the " + p.upstream + " service is not available"}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base.String()+p.path, nil)
	if err != nil {
		return partResult{err: "bad request"}
	}
	if a := in.Header.Get("Authorization"); a != "" {
		req.Header.Set("Authorization", a)
	}
	if id := observe.RequestID(in.Context()); id != "" {
		req.Header.Set("X-Request-ID", id)
	}
	resp, err := g.partClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return partResult{err: "the " + p.upstream + " service did not answer in time"}
		}
		return partResult{err: "the " + p.upstream + " service is unreachable"}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return partResult{err: "the " + p.upstream + " service's answer was cut short"}
	}
	if resp.StatusCode == http.StatusOK && !json.Valid(body) {
		return partResult{err: "the " + p.upstream + " service answered something other than JSON"}
	}
	return partResult{status: resp.StatusCode, body: body}
}

func problemJSON(r *http.Request, status int, slug, detail string) []byte {
	b, _ := json.Marshal(map[string]any{"type": "https://lattice.dev/problems/" + slug, "title": http.StatusText(status),
		"status": status, "detail": detail, "instance": r.URL.Path, "request_id": observe.RequestID(r.Context())})
	return b
}
