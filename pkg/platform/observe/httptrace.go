package observe

import (
	"context"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// HTTP tracing, written against the OpenTelemetry API rather than with
// otelhttp (ADR 0027): otelhttp wraps every response writer and body and
// builds its metric attributes on every request, recorded or not, which
// cost the gateway an eighth of its CPU when no span was exported. Here a
// request that is not sampled costs a non-recording span (for the ids that
// logs and upstreams carry); a sampled one gets the span and the semantic
// attributes an operator filters on.

const tracerName = "github.com/lattice-platform/lattice/pkg/platform/observe"

// Span attribute keys (OpenTelemetry semantic conventions, HTTP).
const (
	attrMethod = attribute.Key("http.request.method")
	attrPath   = attribute.Key("url.path")
	attrRoute  = attribute.Key("http.route")
	attrStatus = attribute.Key("http.response.status_code")
	attrServer = attribute.Key("server.address")
)

// TraceHTTP starts a server span for every request, continuing an incoming
// traceparent (the global propagator's format). A recorded span is named
// "METHOD route" after the chi route that served it (http.route), or
// "METHOD" when none did, as the semantic conventions ask: a name with the
// raw path would make one span name per resource id, and building it cost
// an allocation on every request, recorded or not. The path is the
// url.path attribute.
func TraceHTTP(next http.Handler) http.Handler {
	tracer := otel.Tracer(tracerName)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := otel.GetTextMapPropagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		if !span.IsRecording() {
			next.ServeHTTP(w, r.WithContext(ctx))
			return
		}
		span.SetAttributes(attrMethod.String(r.Method), attrPath.String(r.URL.Path))
		ww := Measured(w, r)
		next.ServeHTTP(ww, r.WithContext(ctx))
		if rc := chi.RouteContext(r.Context()); rc != nil {
			if route := rc.RoutePattern(); route != "" {
				span.SetName(r.Method + " " + route)
				span.SetAttributes(attrRoute.String(route))
			}
		}
		status := ww.Status()
		if status == 0 {
			status = http.StatusOK
		}
		span.SetAttributes(attrStatus.Int(status))
		if status >= http.StatusInternalServerError {
			span.SetStatus(codes.Error, strconv.Itoa(status))
		}
	})
}

// PropagateHTTP writes ctx's trace context into h, for a caller that owns
// the outgoing request (a reverse proxy's Rewrite).
func PropagateHTTP(ctx context.Context, h http.Header) {
	otel.GetTextMapPropagator().Inject(ctx, propagation.HeaderCarrier(h))
}

// TraceTransport makes every request through next carry the caller's trace
// context, and a client span when the caller's trace is sampled.
func TraceTransport(next http.RoundTripper) http.RoundTripper {
	return traceTransport{next: next, tracer: otel.Tracer(tracerName), propagate: true}
}

// TraceSampledTransport is TraceTransport for a caller that has already
// put the trace context on its requests (a reverse proxy, in its Rewrite):
// only sampled requests, which get a client span, are touched.
func TraceSampledTransport(next http.RoundTripper) http.RoundTripper {
	return traceTransport{next: next, tracer: otel.Tracer(tracerName)}
}

type traceTransport struct {
	next      http.RoundTripper
	tracer    trace.Tracer
	propagate bool
}

func (t traceTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if !trace.SpanFromContext(r.Context()).IsRecording() {
		if !t.propagate {
			return t.next.RoundTrip(r)
		}
		// A RoundTripper must not change its caller's request.
		r = r.Clone(r.Context())
		otel.GetTextMapPropagator().Inject(r.Context(), propagation.HeaderCarrier(r.Header))
		return t.next.RoundTrip(r)
	}
	ctx, end := startClientSpan(r.Context(), t.tracer, r.Method, r.URL.Host, r.URL.Path)
	r = r.Clone(ctx)
	otel.GetTextMapPropagator().Inject(ctx, propagation.HeaderCarrier(r.Header))
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		end(0, err)
		return resp, err
	}
	end(resp.StatusCode, nil)
	return resp, nil
}

// StartClientSpan starts a client span for a request to host when ctx's
// trace is sampled, for a caller that sends requests without an
// http.RoundTripper; end records the answer's status, or err when there
// was none, and ends the span. Unsampled, ctx comes back unchanged and end
// does nothing.
func StartClientSpan(ctx context.Context, method, host, path string) (context.Context, func(status int, err error)) {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return ctx, endNothing
	}
	return startClientSpan(ctx, otel.Tracer(tracerName), method, host, path)
}

func endNothing(int, error) {}

func startClientSpan(ctx context.Context, tracer trace.Tracer, method, host, path string) (context.Context, func(int, error)) {
	ctx, span := tracer.Start(ctx, method, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attrMethod.String(method), attrServer.String(host), attrPath.String(path)))
	return ctx, func(status int, err error) {
		defer span.End()
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, "no response")
			return
		}
		span.SetAttributes(attrStatus.Int(status))
		if status >= http.StatusInternalServerError {
			span.SetStatus(codes.Error, strconv.Itoa(status))
		}
	}
}
