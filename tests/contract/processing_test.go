package contract_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/lattice-platform/lattice/pkg/adapters/hashembed"
	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	"github.com/lattice-platform/lattice/pkg/events"
	"github.com/lattice-platform/lattice/pkg/events/schema"
	"github.com/lattice-platform/lattice/pkg/platform/httpserver"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/pkg/testinfra/speccheck"
	"github.com/lattice-platform/lattice/services/processing/domain"
	procapi "github.com/lattice-platform/lattice/services/processing/oapi"
	"github.com/lattice-platform/lattice/services/processing/processingsvc"
	"github.com/lattice-platform/lattice/services/resource/oapi"
	"github.com/lattice-platform/lattice/services/resource/resourcesvc"
	searchapi "github.com/lattice-platform/lattice/services/search/oapi"
	"github.com/lattice-platform/lattice/services/search/searchsvc"
)

// pipeline is auth, resource and processing on one NATS container, wired
// as in production: processing reads resources with a client-credentials
// token and publishes chunks.ready and file.rejected on EVENTS.
type pipeline struct {
	*platform
	js        jetstream.JetStream
	natsURL   string
	jobs      *procapi.ClientWithResponses
	jobsURL   string
	adminURL  string // processing's internal listener (metrics)
	search    *searchapi.ClientWithResponses
	searchTr  *speccheck.Transport
	searchSvc *searchsvc.Service
	events    *eventLog
}

// eventLog records every event on EVENTS, validated against events.yaml.
type eventLog struct {
	mu  sync.Mutex
	all []map[string]any
}

// snapshot returns every event recorded so far, in stream order.
func (l *eventLog) snapshot() []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.all)
}

func (l *eventLog) ofType(typ string) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, e := range l.all {
		if e["type"] == typ {
			out = append(out, e)
		}
	}
	return out
}

var eventSchemas = map[string]string{
	"resource.created": "ResourceCreated", "resource.updated": "ResourceUpdated", "resource.deleted": "ResourceDeleted",
	"file.uploaded": "FileUploaded", "file.deleted": "FileDeleted", "file.rejected": "FileRejected", "chunks.ready": "ChunksReady",
	"audit.recorded": "AuditRecord", "gateway.request": "UsageRecord", "gateway.requests": "UsageBatch",
}

func eventsDoc(t testing.TB) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromFile("../../openapi/events.yaml")
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()))
	return doc
}

// recordEvents follows EVENTS with an ordered consumer and validates each
// event's envelope and payload as it arrives.
func recordEvents(t testing.TB, ctx context.Context, js jetstream.JetStream) *eventLog {
	t.Helper()
	return recordStream(t, ctx, js, "EVENTS")
}

// recordStream is recordEvents for any stream of CloudEvents.
func recordStream(t testing.TB, ctx context.Context, js jetstream.JetStream, stream string) *eventLog {
	t.Helper()
	doc := eventsDoc(t)
	log := &eventLog{}
	cons, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{})
	require.NoError(t, err)
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		var env map[string]any
		if err := json.Unmarshal(msg.Data(), &env); err != nil {
			t.Errorf("event is not JSON: %s", msg.Data())
			return
		}
		if err := doc.Components.Schemas["CloudEvent"].Value.VisitJSON(env); err != nil {
			t.Errorf("envelope: %v: %s", err, msg.Data())
		}
		typ, _ := env["type"].(string)
		schema, ok := doc.Components.Schemas[eventSchemas[typ]]
		if !ok {
			t.Errorf("event type %q has no schema: %s", typ, msg.Data())
			return
		}
		if err := schema.Value.VisitJSON(env["data"]); err != nil {
			t.Errorf("%s payload: %v: %s", env["type"], err, msg.Data())
		}
		log.mu.Lock()
		log.all = append(log.all, env)
		log.mu.Unlock()
	})
	require.NoError(t, err)
	t.Cleanup(cc.Stop)
	return log
}

// pipelineOption adjusts what startPipeline runs.
type pipelineOption struct {
	noProcessing  bool
	processingLog *slog.Logger // where the processing service logs; nowhere by default
}

func startPipeline(t testing.TB, opts ...pipelineOption) *pipeline {
	t.Helper()
	var opt pipelineOption
	for _, o := range opts {
		opt.noProcessing = opt.noProcessing || o.noProcessing
		opt.processingLog = cmp.Or(o.processingLog, opt.processingLog)
	}
	ctx := context.Background()
	broker := testinfra.NATSContainer(t)
	nc, js, err := natsjs.Connect(broker.URL, "pipeline-test")
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	require.NoError(t, natsjs.EnsureStreams(ctx, js))
	// Every event the services publish and consume is checked against
	// events.yaml (and recorded for the contract-coverage gate).
	pub := speccheck.Publishing(t, natsjs.NewPublisher(js, 5*time.Second))
	quiet := slog.New(slog.DiscardHandler)
	sub := speccheck.Subscribing(t, natsjs.NewSubscriber(js, quiet))
	p := startPlatform(t, func(c *resourcesvc.Config) { c.Publisher, c.Subscriber = pub, sub })
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	t.Cleanup(func() { stop(); wg.Wait() })
	wg.Add(1)
	go func() { defer wg.Done(); p.resource.Run(runCtx) }()

	out := &pipeline{platform: p, js: js, natsURL: broker.URL}
	if !opt.noProcessing {
		svcClient, err := p.auth.svc.App.RegisterClient(ctx, clientInput("processing", "resources:admin"))
		require.NoError(t, err)
		cc := clientcredentials.Config{ClientID: svcClient.Client.ID, ClientSecret: svcClient.Secret, TokenURL: p.auth.url + "/oauth2/token"}
		svc, err := processingsvc.New(ctx, processingsvc.Config{
			JetStream: js, Publisher: pub, Subscriber: sub, Verifier: p.verifier, Embedder: hashembed.Embedder{},
			ResourceURL: p.url, ServiceHTTP: cc.Client(ctx), Concurrency: 2,
			ExtractCommand: []string{testinfra.LatticeBinary(t), "extract"},
			Backoff:        domain.Backoff{Base: 100 * time.Millisecond, Max: time.Second},
		}, cmp.Or(opt.processingLog, quiet))
		require.NoError(t, err)
		wg.Add(1)
		go func() { defer wg.Done(); svc.Run(runCtx) }()
		srv := httptest.NewServer(httpserver.Handler(httpserver.Config{}, svc.HTTP))
		t.Cleanup(srv.Close)
		out.jobsURL = srv.URL
		admin := httptest.NewServer(httpserver.AdminHandler(svc.HTTP))
		t.Cleanup(admin.Close)
		out.adminURL = admin.URL
		spec, err := procapi.GetSpec()
		require.NoError(t, err)
		out.jobs, err = procapi.NewClientWithResponses(srv.URL, procapi.WithHTTPClient(&http.Client{Transport: speccheck.New(t, spec)}))
		require.NoError(t, err)
	}
	searchSvc, err := searchsvc.New(ctx, searchsvc.Config{DatabaseURL: testinfra.MySQL(t), Verifier: p.verifier, JetStream: js,
		Subscriber: sub, Embedder: hashembed.Embedder{}, IndexDir: t.TempDir()}, quiet)
	require.NoError(t, err)
	t.Cleanup(searchSvc.Close)
	wg.Add(1)
	go func() { defer wg.Done(); searchSvc.Run(runCtx) }()
	searchSrv := httptest.NewServer(httpserver.Handler(httpserver.Config{}, searchSvc.HTTP))
	t.Cleanup(searchSrv.Close)
	searchSpec, err := searchapi.GetSpec()
	require.NoError(t, err)
	out.searchTr = speccheck.New(t, searchSpec)
	out.search, err = searchapi.NewClientWithResponses(searchSrv.URL, searchapi.WithHTTPClient(&http.Client{Transport: out.searchTr}))
	require.NoError(t, err)
	out.searchSvc, out.events = searchSvc, recordEvents(t, runCtx, js)
	return out
}

func jobBearer(token string) procapi.RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return nil
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func (p *pipeline) upload(t testing.TB, token, resourceID, name string, content []byte) oapi.File {
	t.Helper()
	resp, err := p.client.UploadFileWithBodyWithResponse(context.Background(), uuid.MustParse(resourceID), &oapi.UploadFileParams{Name: &name},
		"application/octet-stream", bytes.NewReader(content), resBearer(token))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, resp.StatusCode(), string(resp.Body))
	return *resp.JSON201
}

// TestProcessingPipeline follows a resource and its files through
// processing: chunks.ready for the body and a readable file, with the chunk
// set fetched and checked; file.rejected (and a rejected file) for a
// corrupt one; and the job API over the jobs that did it.
func TestProcessingPipeline(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := startPipeline(t)
	_, alice := p.apiKeyFor(t, "alice-proc@example.com", false)
	_, bob := p.apiKeyFor(t, "bob-proc@example.com", false)
	_, admin := p.apiKeyFor(t, "admin-proc@example.com", true)

	created, err := p.client.CreateResourceWithResponse(ctx, nil, newInput("Pipeline notes", oapi.Private), resBearer(alice))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, created.StatusCode())
	rid := created.JSON201.Id.String()
	md := p.upload(t, alice, rid, "notes.md", []byte("# Aurora\n\nThe aurora borealis glows green over Tromsø.\n"))
	// About 30 chunks, whose vectors take too much room for an event.
	long := p.upload(t, alice, rid, "long.md", []byte(strings.Repeat("The solar wind meets the magnetosphere over Tromsø. ", 600)))
	bad := p.upload(t, alice, rid, "broken.json", []byte(`{"broken":`))

	chunksFor := func(fileID string) map[string]any {
		for _, e := range p.events.ofType("chunks.ready") {
			d := e["data"].(map[string]any)
			if d["resource_id"] == rid && (d["file_id"] == nil && fileID == "" || d["file_id"] == fileID) {
				return d
			}
		}
		return nil
	}
	eventually(t, 30*time.Second, "chunks.ready for the body and the markdown files", func() bool {
		return chunksFor("") != nil && chunksFor(md.Id.String()) != nil && chunksFor(long.Id.String()) != nil
	})
	decode := func(d map[string]any) schema.ChunksReady {
		var ref schema.ChunksReady
		raw, _ := json.Marshal(d)
		require.NoError(t, json.Unmarshal(raw, &ref))
		require.Equal(t, hashembed.Model, ref.Model)
		require.Equal(t, 1024, ref.Dimensions)
		return ref
	}

	// A small set travels in its event (ADR 0054): the file's text with
	// its vectors.
	small := decode(chunksFor(md.Id.String()))
	require.Nil(t, small.Object, "a set in its event is not also stored")
	require.NotNil(t, small.Chunks)
	require.Len(t, *small.Chunks, small.ChunkCount)
	require.Contains(t, (*small.Chunks)[0].Text, "aurora borealis glows green")
	vec, err := events.DecodeVector((*small.Chunks)[0].Vector)
	require.NoError(t, err)
	require.Len(t, vec, 1024)

	// The claim check for a large one: the chunk set is in the object
	// store, matches its digest and its schema, and holds the file's text
	// with its vectors.
	large := decode(chunksFor(long.Id.String()))
	require.Nil(t, large.Chunks)
	require.NotNil(t, large.Object)
	require.Greater(t, large.ChunkCount, 20)
	require.Equal(t, schema.ObjectRefContentTypeApplicationcbor, *large.Object.ContentType, "chunk sets are stored as CBOR (ADR 0042)")
	obs, err := natsjs.OpenChunkBucket(ctx, p.js)
	require.NoError(t, err)
	set, err := natsjs.NewChunkSets(obs).Fetch(ctx, *large.Object)
	require.NoError(t, err)
	require.Len(t, set.Chunks, large.ChunkCount)
	require.Contains(t, set.Chunks[0].Text, "The solar wind meets the magnetosphere")
	vec, err = events.DecodeVector(set.Chunks[0].Vector)
	require.NoError(t, err)
	require.Len(t, vec, 1024)
	var setJSON map[string]any
	rawSet, _ := json.Marshal(set)
	require.NoError(t, json.Unmarshal(rawSet, &setJSON))
	require.NoError(t, eventsDoc(t).Components.Schemas["ChunkSet"].Value.VisitJSON(setJSON))

	// The corrupt file: file.rejected, and the resource service marks it.
	eventually(t, 30*time.Second, "the corrupt file is marked rejected", func() bool {
		resp, err := p.client.GetFileWithResponse(ctx, created.JSON201.Id, bad.Id, resBearer(alice))
		return err == nil && resp.JSON200 != nil && resp.JSON200.Status == oapi.Rejected
	})
	require.Len(t, p.events.ofType("file.rejected"), 1)

	// The job API.
	rUUID := created.JSON201.Id
	list, err := p.jobs.ListJobsWithResponse(ctx, &procapi.ListJobsParams{ResourceId: &rUUID}, jobBearer(alice))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, list.StatusCode(), string(list.Body))
	require.Len(t, list.JSON200.Items, 4, "one job per event: the resource and three files")
	states := map[procapi.JobState]int{}
	var deadJob procapi.Job
	for _, j := range list.JSON200.Items {
		states[j.State]++
		if j.State == procapi.Dead {
			deadJob = j
		}
	}
	require.Equal(t, map[procapi.JobState]int{procapi.Succeeded: 3, procapi.Dead: 1}, states)
	require.Equal(t, bad.Id, *deadJob.FileId)
	require.NotEmpty(t, *deadJob.LastError)
	require.Equal(t, 1, deadJob.Attempts, "a corrupt file is not retried")

	// The dead job is parked on the DLQ stream with its error.
	dlq, err := p.js.Stream(ctx, "DLQ")
	require.NoError(t, err)
	parked, err := dlq.GetLastMsgForSubject(ctx, "dlq.jobs.extract_file")
	require.NoError(t, err)
	require.Equal(t, deadJob.Id.String(), parked.Header.Get("Lattice-Job"))
	require.Equal(t, *deadJob.LastError, parked.Header.Get("Lattice-Error"))

	// The consumer lag is exported for autoscaling.
	metrics, err := http.Get(p.adminURL + "/metrics")
	require.NoError(t, err)
	rawMetrics, _ := io.ReadAll(metrics.Body)
	metrics.Body.Close()
	require.Contains(t, string(rawMetrics), `lattice_consumer_pending{consumer="processing-workers",stream="JOBS"} 0`)
	require.Contains(t, string(rawMetrics), `lattice_consumer_pending{consumer="processing-intake",stream="EVENTS"}`)
	require.Contains(t, string(rawMetrics), `lattice_consumer_redelivered{consumer="processing-workers",stream="JOBS"}`)
	// Four jobs: three succeeded (two of them files), and the corrupt
	// file's died after its attempts (the earlier ones counted as retrying).
	require.Contains(t, string(rawMetrics), `lattice_job_attempts_total{kind="extract_file",outcome="succeeded"} 2`)
	require.Contains(t, string(rawMetrics), `lattice_job_attempts_total{kind="extract_file",outcome="dead"} 1`)
	require.Contains(t, string(rawMetrics), `lattice_job_attempt_duration_seconds_count{kind="extract_file",outcome="succeeded"} 2`)

	got, err := p.jobs.GetJobWithResponse(ctx, deadJob.Id, jobBearer(alice))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, got.StatusCode())
	for _, c := range []struct {
		token  string
		status int
	}{{bob, http.StatusNotFound}, {"", http.StatusUnauthorized}, {"not-a-token", http.StatusUnauthorized}} {
		got, err := p.jobs.GetJobWithResponse(ctx, deadJob.Id, jobBearer(c.token))
		require.NoError(t, err)
		require.Equal(t, c.status, got.StatusCode(), "token %q", c.token)
	}
	bobList, err := p.jobs.ListJobsWithResponse(ctx, &procapi.ListJobsParams{ResourceId: &rUUID}, jobBearer(bob))
	require.NoError(t, err)
	require.Empty(t, bobList.JSON200.Items, "jobs of a resource bob cannot read are hidden")
	all, err := p.jobs.ListJobsWithResponse(ctx, &procapi.ListJobsParams{}, jobBearer(alice))
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, all.StatusCode())

	// Admin: paging, retry, cancel and reindex.
	one := 1
	page, err := p.jobs.ListJobsWithResponse(ctx, &procapi.ListJobsParams{ResourceId: &rUUID, Limit: &one}, jobBearer(admin))
	require.NoError(t, err)
	require.Len(t, page.JSON200.Items, 1)
	require.NotNil(t, page.JSON200.NextCursor)
	next, err := p.jobs.ListJobsWithResponse(ctx, &procapi.ListJobsParams{ResourceId: &rUUID, Limit: &one, Cursor: page.JSON200.NextCursor}, jobBearer(admin))
	require.NoError(t, err)
	require.NotEqual(t, page.JSON200.Items[0].Id, next.JSON200.Items[0].Id)
	badCursor := "!!"
	bc, err := p.jobs.ListJobsWithResponse(ctx, &procapi.ListJobsParams{Cursor: &badCursor}, jobBearer(admin))
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, bc.StatusCode())

	retried, err := p.jobs.RetryJobWithResponse(ctx, deadJob.Id, jobBearer(alice))
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, retried.StatusCode())
	retried, err = p.jobs.RetryJobWithResponse(ctx, deadJob.Id, jobBearer(admin))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, retried.StatusCode(), string(retried.Body))
	eventually(t, 30*time.Second, "the retried job dies again", func() bool {
		got, err := p.jobs.GetJobWithResponse(ctx, deadJob.Id, jobBearer(admin))
		return err == nil && got.JSON200 != nil && got.JSON200.State == procapi.Dead
	})
	cancelled, err := p.jobs.CancelJobWithResponse(ctx, deadJob.Id, jobBearer(admin))
	require.NoError(t, err)
	require.Equal(t, http.StatusConflict, cancelled.StatusCode(), "a finished job cannot be cancelled")

	reindex, err := p.jobs.EnqueueJobWithResponse(ctx, procapi.JobRequest{Kind: procapi.JobRequestKindReindex, ResourceId: rUUID}, jobBearer(admin))
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, reindex.StatusCode(), string(reindex.Body))
	eventually(t, 30*time.Second, "the reindex succeeds", func() bool {
		got, err := p.jobs.GetJobWithResponse(ctx, reindex.JSON202.Id, jobBearer(admin))
		return err == nil && got.JSON200 != nil && got.JSON200.State == procapi.Succeeded && got.JSON200.Progress == 100
	})
	denied, err := p.jobs.EnqueueJobWithResponse(ctx, procapi.JobRequest{Kind: procapi.JobRequestKindReindex, ResourceId: rUUID}, jobBearer(alice))
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, denied.StatusCode())
	missing, err := p.jobs.GetJobWithResponse(ctx, uuid.New(), jobBearer(admin))
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, missing.StatusCode())

	// Bad input is a 4xx problem, never a 500.
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/v1/jobs/not-a-uuid", ""},
		{"GET", "/v1/jobs?state=sleeping", ""},
		{"GET", "/v1/jobs?limit=0", ""},
		{"POST", "/v1/jobs", `{"kind":"everything","resource_id":"` + rid + `"}`},
		{"POST", "/v1/jobs", `{"kind":"reindex"}`},
		{"POST", "/v1/jobs", `not json`},
	} {
		req, _ := http.NewRequest(c.method, p.jobs.ClientInterface.(*procapi.Client).Server+strings.TrimPrefix(c.path, "/"), strings.NewReader(c.body))
		req.Header.Set("Authorization", "Bearer "+admin)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s %s", c.method, c.path)
		require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	}
}
