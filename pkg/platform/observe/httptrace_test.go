package observe_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/lattice-platform/lattice/pkg/platform/observe"
)

// recording installs, for one test, a provider that records sampled traces
// only (as production does: ParentBased), and the W3C propagator.
func recording(t *testing.T) *tracetest.InMemoryExporter {
	exp := tracetest.NewInMemoryExporter()
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.NeverSample()))))
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { otel.SetTracerProvider(prevTP); otel.SetTextMapPropagator(prevProp) })
	return exp
}

const sampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

// TestAServedRequestContinuesItsTrace: the server span is the incoming
// traceparent's child; a sampled one is recorded with its method, path and
// status, a 5xx as an error; one not sampled is not recorded but still has
// the ids.
func TestAServedRequestContinuesItsTrace(t *testing.T) {
	exp := recording(t)
	var seen trace.SpanContext
	mux := chi.NewRouter()
	mux.Use(observe.TraceHTTP)
	mux.Get("/v1/things/{id}", func(w http.ResponseWriter, r *http.Request) {
		seen = trace.SpanContextFromContext(r.Context())
		w.WriteHeader(http.StatusBadGateway)
	})
	h := http.Handler(mux)
	req := httptest.NewRequest(http.MethodGet, "/v1/things/1", nil)
	req.Header.Set("traceparent", sampled)
	h.ServeHTTP(httptest.NewRecorder(), req)
	require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", seen.TraceID().String())
	spans := exp.GetSpans()
	require.Len(t, spans, 1)
	s := spans[0]
	require.Equal(t, "GET /v1/things/{id}", s.Name, "named by its route, not its path")
	require.Contains(t, s.Attributes, attribute.String("http.route", "/v1/things/{id}"))
	require.Contains(t, s.Attributes, attribute.String("url.path", "/v1/things/1"))
	require.Equal(t, trace.SpanKindServer, s.SpanKind)
	require.Equal(t, "00f067aa0ba902b7", s.Parent.SpanID().String())
	require.Contains(t, s.Attributes, attr("http.response.status_code", 502))
	require.Equal(t, "Error", s.Status.Code.String())

	exp.Reset()
	req = httptest.NewRequest(http.MethodGet, "/v1/things/2", nil)
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")
	h.ServeHTTP(httptest.NewRecorder(), req)
	require.Empty(t, exp.GetSpans(), "not sampled: not recorded")
	require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", seen.TraceID().String(), "but the ids go on")
}

// TestAnOutgoingRequestCarriesTheTrace: the transport sends the caller's
// trace context without changing the caller's request, and records a
// client span, parent of what the upstream sees, when sampled.
func TestAnOutgoingRequestCarriesTheTrace(t *testing.T) {
	exp := recording(t)
	var got string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header.Get("traceparent") }))
	defer upstream.Close()
	client := &http.Client{Transport: observe.TraceTransport(http.DefaultTransport.(*http.Transport).Clone())}
	defer client.CloseIdleConnections()

	for _, parent := range []string{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", sampled} {
		exp.Reset()
		ctx := propagation.TraceContext{}.Extract(t.Context(), propagation.MapCarrier{"traceparent": parent})
		ctx, span := otel.Tracer("test").Start(ctx, "caller")
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, upstream.URL+"/x", nil)
		resp, err := client.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		span.End()
		require.Empty(t, req.Header.Get("traceparent"), "the caller's request is left as it was")
		require.Contains(t, got, "4bf92f3577b34da6a3ce929d0e0e4736")
		if parent != sampled {
			require.Contains(t, got, span.SpanContext().SpanID().String(), "the caller's span is the upstream's parent")
			require.Empty(t, exp.GetSpans())
			continue
		}
		var clientSpan tracetest.SpanStub
		for _, s := range exp.GetSpans() {
			if s.SpanKind == trace.SpanKindClient {
				clientSpan = s
			}
		}
		require.Equal(t, span.SpanContext().SpanID(), clientSpan.Parent.SpanID())
		require.Contains(t, got, clientSpan.SpanContext.SpanID().String(), "the client span is the upstream's parent")
		require.Contains(t, clientSpan.Attributes, attr("http.response.status_code", 200))
	}
}

func attr(key string, v int) attribute.KeyValue { return attribute.Int(key, v) }

// TestASpanNoRouteServedIsNamedByItsMethod: with no route pattern (a
// handler outside chi), the name is the method alone, never the raw path.
func TestASpanNoRouteServedIsNamedByItsMethod(t *testing.T) {
	exp := recording(t)
	h := observe.TraceHTTP(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	req := httptest.NewRequest(http.MethodPost, "/v1/things/42", nil)
	req.Header.Set("traceparent", sampled)
	h.ServeHTTP(httptest.NewRecorder(), req)
	spans := exp.GetSpans()
	require.Len(t, spans, 1)
	require.Equal(t, "POST", spans[0].Name)
	require.Contains(t, spans[0].Attributes, attribute.String("url.path", "/v1/things/42"))
}
