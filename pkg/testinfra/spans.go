package testinfra

import (
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

var (
	spansOnce sync.Once
	spans     *tracetest.InMemoryExporter
)

// SampledSpans installs, once for the test binary, a global tracer
// provider that keeps in memory the spans of sampled traces only, and the
// W3C trace-context propagator. A test marks its own traces as sampled
// (the traceparent it sends or publishes), so the tests running beside it
// add nothing to what it reads.
func SampledSpans() *tracetest.InMemoryExporter {
	spansOnce.Do(func() {
		spans = tracetest.NewInMemoryExporter()
		otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans),
			sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.NeverSample()))))
		otel.SetTextMapPropagator(propagation.TraceContext{})
	})
	return spans
}
