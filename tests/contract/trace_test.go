package contract_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/lattice-platform/lattice/pkg/platform/observe"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/services/processing/processingsvc"
	"github.com/lattice-platform/lattice/services/resource/oapi"
)

// TestAnUploadIsOneTraceAcrossJetStream: the HTTP request that uploads a
// file, the outbox event it writes, processing's intake and job, the
// chunks.ready event and search's indexing are one trace. Each publish is
// a child of what caused it; each consumer's span is a child of the publish
// and linked to it; and processing's log lines carry the trace id.
func TestAnUploadIsOneTraceAcrossJetStream(t *testing.T) {
	t.Parallel()
	exporter := testinfra.SampledSpans()
	logs := &testinfra.LogBuffer{}
	p := startPipeline(t, pipelineOption{processingLog: observe.NewLogger(logs, slog.LevelInfo, "processing")})
	ctx := context.Background()
	_, alice := p.apiKeyFor(t, "alice-trace@example.com", false)
	created, err := p.client.CreateResourceWithResponse(ctx, nil, newInput("Traced notes", oapi.Private), resBearer(alice))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, created.StatusCode())

	// The caller's span, as a client with tracing would send it.
	var tid trace.TraceID
	var sid trace.SpanID
	_, _ = rand.Read(tid[:])
	_, _ = rand.Read(sid[:])
	caller := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled, Remote: true})
	traced := trace.ContextWithRemoteSpanContext(ctx, caller)
	name := "traced.md"
	resp, err := p.client.UploadFileWithBodyWithResponse(traced, created.JSON201.Id, &oapi.UploadFileParams{Name: &name},
		"application/octet-stream", strings.NewReader("# Tides\n\nThe tide tables of the traced harbour.\n"), resBearer(alice),
		func(ctx context.Context, req *http.Request) error {
			propagation.TraceContext{}.Inject(ctx, propagation.HeaderCarrier(req.Header))
			return nil
		})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, resp.StatusCode(), string(resp.Body))

	ours := func() []tracetest.SpanStub {
		var out []tracetest.SpanStub
		for _, s := range exporter.GetSpans() {
			if s.SpanContext.TraceID() == tid {
				out = append(out, s)
			}
		}
		return out
	}
	named := func(spans []tracetest.SpanStub, name string, kind trace.SpanKind) []tracetest.SpanStub {
		var out []tracetest.SpanStub
		for _, s := range spans {
			if s.Name == name && s.SpanKind == kind {
				out = append(out, s)
			}
		}
		return out
	}
	var spans []tracetest.SpanStub
	eventually(t, time.Minute, "search indexes the chunks of the traced upload", func() bool {
		spans = ours()
		return len(named(spans, "process events.chunks.ready", trace.SpanKindConsumer)) > 0
	})
	defer func() {
		if t.Failed() {
			for _, s := range spans {
				t.Logf("span %s %s (%s) parent %s links %d", s.SpanContext.SpanID(), s.Name, s.SpanKind, s.Parent.SpanID(), len(s.Links))
			}
		}
	}()

	byID := map[trace.SpanID]tracetest.SpanStub{}
	for _, s := range spans {
		byID[s.SpanContext.SpanID()] = s
	}
	// descends reports whether s has ancestor among its parents.
	descends := func(s tracetest.SpanStub, ancestor trace.SpanID) bool {
		for hops := 0; hops < 32; hops++ {
			if s.Parent.SpanID() == ancestor {
				return true
			}
			parent, ok := byID[s.Parent.SpanID()]
			if !ok {
				return false
			}
			s = parent
		}
		return false
	}
	// one returns the only span named name of kind under ancestor.
	one := func(name string, kind trace.SpanKind, ancestor trace.SpanID) tracetest.SpanStub {
		t.Helper()
		var found []tracetest.SpanStub
		for _, s := range named(spans, name, kind) {
			if descends(s, ancestor) {
				found = append(found, s)
			}
		}
		require.Len(t, found, 1, "%s spans under %s", name, ancestor)
		return found[0]
	}
	// consumed checks that a consumer's span is the publish's child and
	// links to it.
	consumed := func(process, publish tracetest.SpanStub) {
		t.Helper()
		require.Equal(t, publish.SpanContext.SpanID(), process.Parent.SpanID(), "%s is a child of %s", process.Name, publish.Name)
		require.Len(t, process.Links, 1, "%s links to its message", process.Name)
		require.Equal(t, publish.SpanContext.SpanID(), process.Links[0].SpanContext.SpanID())
	}

	var server tracetest.SpanStub
	for _, s := range spans {
		if s.SpanKind == trace.SpanKindServer && s.Parent.SpanID() == sid {
			server = s
		}
	}
	require.True(t, server.SpanContext.IsValid(), "the resource service's request span continues the caller's trace")
	uploaded := one("publish events.file.uploaded", trace.SpanKindProducer, server.SpanContext.SpanID())
	intake := one("process events.file.uploaded", trace.SpanKindConsumer, uploaded.SpanContext.SpanID())
	consumed(intake, uploaded)
	require.Contains(t, intake.Attributes, attribute.String("messaging.consumer.group.name", processingsvc.IntakeConsumer))
	var enqueued tracetest.SpanStub
	for _, s := range spans {
		if s.SpanKind == trace.SpanKindProducer && strings.HasPrefix(s.Name, "publish jobs.") && s.Parent.SpanID() == intake.SpanContext.SpanID() {
			enqueued = s
		}
	}
	require.True(t, enqueued.SpanContext.IsValid(), "the intake's job is enqueued in its trace")
	job := one("process "+strings.TrimPrefix(enqueued.Name, "publish "), trace.SpanKindConsumer, enqueued.SpanContext.SpanID())
	consumed(job, enqueued)
	ready := one("publish events.chunks.ready", trace.SpanKindProducer, job.SpanContext.SpanID())
	indexed := one("process events.chunks.ready", trace.SpanKindConsumer, ready.SpanContext.SpanID())
	consumed(indexed, ready)

	// Processing's log lines of this work carry the trace id.
	var queued, finished bool
	for line := range strings.SplitSeq(logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil || rec["trace_id"] != tid.String() {
			continue
		}
		queued = queued || rec["msg"] == "job queued"
		finished = finished || rec["msg"] == "job finished"
	}
	require.True(t, queued && finished, "the job's log lines carry trace_id %s:\n%s", tid, logs.String())
}
