// Package composite answers the endpoints the gateway serves itself
// (openapi/gateway.yaml): it implements the generated strict server and
// calls the services in parallel through typed clients generated from
// their contracts (services/gateway/upstream), with the caller's own
// credential. The proxy admits these requests like any other (route,
// credential, rate limits, usage) before they reach this package.
package composite

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/lattice-platform/lattice/pkg/access"
	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/platform/apimw"
	"github.com/lattice-platform/lattice/pkg/platform/observe"
	"github.com/lattice-platform/lattice/services/gateway/oapi"
	"github.com/lattice-platform/lattice/services/gateway/upstream/jobsclient"
	"github.com/lattice-platform/lattice/services/gateway/upstream/resourceclient"
	"github.com/lattice-platform/lattice/services/gateway/upstream/usageclient"
)

// Deadline bounds a whole composite: a part slower than this is reported
// in `errors` instead of holding the answer.
const Deadline = 3 * time.Second

// maxPart is the most of one upstream answer a composite reads.
const maxPart = 4 << 20

// Server implements the composite operations of the gateway's generated
// strict interface.
type Server struct {
	resource *resourceclient.Client // nil: the upstream is not configured
	jobs     *jobsclient.Client
	usage    *usageclient.Client
}

// New returns a Server calling the upstreams (by name: resource,
// processing, analytics) that are configured, through client.
func New(upstreams map[string]*url.URL, client *http.Client) (*Server, error) {
	s := &Server{}
	var err error
	if u, ok := upstreams["resource"]; ok {
		if s.resource, err = resourceclient.NewClient(u.String(), resourceclient.WithHTTPClient(client)); err != nil {
			return nil, err
		}
	}
	if u, ok := upstreams["processing"]; ok {
		if s.jobs, err = jobsclient.NewClient(u.String(), jobsclient.WithHTTPClient(client)); err != nil {
			return nil, err
		}
	}
	if u, ok := upstreams["analytics"]; ok {
		if s.usage, err = usageclient.NewClient(u.String(), usageclient.WithHTTPClient(client)); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Register mounts the generated routes on r, through admit (the proxy's
// admission of a request) and the contract's request validation, with
// problem+json for malformed requests.
func Register(r chi.Router, s oapi.StrictServerInterface, admit func(http.Handler) http.Handler) error {
	spec, err := oapi.GetSpec()
	if err != nil {
		return err
	}
	strict := oapi.NewStrictHandlerWithOptions(s, nil, oapi.StrictHTTPServerOptions{
		RequestErrorHandlerFunc:  apimw.RequestError,
		ResponseErrorHandlerFunc: apimw.ResponseError,
	})
	// Requests are checked against the contract (unknown fields, ranges)
	// after the gateway has admitted them.
	oapi.HandlerWithOptions(strict, oapi.ChiServerOptions{BaseRouter: r.With(admit, apimw.Validator(spec, nil, nil)), ErrorHandlerFunc: apimw.RequestError})
	return nil
}

// part is one upstream call of a composite and what it returned.
type part struct {
	name, upstream string
	call           func(ctx context.Context) (*http.Response, error) // nil: not configured
	status         int
	body           json.RawMessage
	err            string
}

// GetResourceOverview answers GET /v1/resources/{id}/overview: the
// resource, its jobs and its usage counts, fetched in parallel. The
// resource decides visibility: if it is not 200, its answer is the answer.
// Other parts that fail or are slow become `errors` entries; parts the
// caller may not see (401/403/404) are left out.
func (s *Server) GetResourceOverview(ctx context.Context, req oapi.GetResourceOverviewRequestObject) (oapi.GetResourceOverviewResponseObject, error) {
	edit := forwarding(ctx)
	id := req.Id
	parts := []*part{
		{name: "resource", upstream: "resource"},
		{name: "processing", upstream: "processing"},
		{name: "analytics", upstream: "analytics"},
	}
	if s.resource != nil {
		parts[0].call = func(ctx context.Context) (*http.Response, error) { return s.resource.GetResource(ctx, id, edit) }
	}
	if s.jobs != nil {
		parts[1].call = func(ctx context.Context) (*http.Response, error) {
			return s.jobs.ListJobs(ctx, &jobsclient.ListJobsParams{ResourceId: &id}, jobsclient.RequestEditorFn(edit))
		}
	}
	if s.usage != nil {
		parts[2].call = func(ctx context.Context) (*http.Response, error) {
			return s.usage.GetResourceUsage(ctx, id, usageclient.RequestEditorFn(edit))
		}
	}
	ctx, cancel := context.WithTimeout(ctx, Deadline)
	defer cancel()
	var wg sync.WaitGroup
	for _, p := range parts[1:] {
		wg.Add(1)
		go func() { defer wg.Done(); p.fetch(ctx) }()
	}
	res := parts[0]
	res.fetch(ctx)
	if res.status != http.StatusOK {
		cancel() // the other parts are not needed
	}
	wg.Wait()
	switch {
	case res.err != "":
		return nil, fault.New(fault.BadGateway, "the resource service is unreachable")
	case res.status != http.StatusOK:
		return upstreamAnswer{status: res.status, body: res.body}, nil
	}
	out := overview{Resource: res.body, Errors: []overviewError{}}
	for _, p := range parts[1:] {
		switch {
		case p.status == http.StatusOK:
			if p.name == "processing" {
				out.Processing = p.body
			} else {
				out.Analytics = p.body
			}
		case p.status == http.StatusUnauthorized || p.status == http.StatusForbidden || p.status == http.StatusNotFound:
			// not the caller's to see
		case p.err != "":
			out.Errors = append(out.Errors, overviewError{Part: oapi.ResourceOverviewErrorsPart(p.name), Detail: p.err})
		default:
			out.Errors = append(out.Errors, overviewError{Part: oapi.ResourceOverviewErrorsPart(p.name), Detail: "the " + p.upstream + " service answered " + http.StatusText(p.status)})
		}
	}
	return out, nil
}

// forwarding passes the caller's credential and the request id on to the
// services, which decide for themselves what the caller may see.
func forwarding(ctx context.Context) resourceclient.RequestEditorFn {
	credential, requestID := access.CallerFrom(ctx).Credential, observe.RequestID(ctx)
	return func(_ context.Context, req *http.Request) error {
		if credential != "" {
			req.Header.Set("Authorization", "Bearer "+credential)
		}
		if requestID != "" {
			req.Header.Set("X-Request-ID", requestID)
		}
		return nil
	}
}

func (p *part) fetch(ctx context.Context) {
	if p.call == nil {
		p.err = "the " + p.upstream + " service is not available"
		return
	}
	resp, err := p.call(ctx)
	if err != nil {
		if ctx.Err() != nil {
			p.err = "the " + p.upstream + " service did not answer in time"
		} else {
			p.err = "the " + p.upstream + " service is unreachable"
		}
		return
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPart))
	switch {
	case err != nil:
		p.err = "the " + p.upstream + " service's answer was cut short"
	case resp.StatusCode == http.StatusOK && !json.Valid(body):
		p.err = "the " + p.upstream + " service answered something other than JSON"
	default:
		p.status, p.body = resp.StatusCode, body
	}
}

// overviewError is one part that could not be fetched.
type overviewError struct {
	Part   oapi.ResourceOverviewErrorsPart `json:"part"`
	Detail string                          `json:"detail"`
}

// overview is oapi.ResourceOverview with each part kept as its service
// wrote it (the contract says "as GET /v1/resources/{id} returns it"), so
// nothing is lost to a decode and re-encode.
type overview struct {
	Resource   json.RawMessage `json:"resource"`
	Processing json.RawMessage `json:"processing,omitempty"`
	Analytics  json.RawMessage `json:"analytics,omitempty"`
	Errors     []overviewError `json:"errors"`
}

func (o overview) VisitGetResourceOverviewResponse(w http.ResponseWriter) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	return json.NewEncoder(w).Encode(o)
}

// upstreamAnswer passes the resource service's refusal on as the whole
// answer: 404 for what the caller may not see, 401, or its own failure.
type upstreamAnswer struct {
	status int
	body   json.RawMessage
}

func (a upstreamAnswer) VisitGetResourceOverviewResponse(w http.ResponseWriter) error {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(a.status)
	_, err := w.Write(a.body)
	return err
}
