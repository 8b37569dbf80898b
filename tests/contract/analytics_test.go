package contract_test

import (
	"context"
	"crypto/ed25519"
	crand "crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	"github.com/lattice-platform/lattice/pkg/events"
	"github.com/lattice-platform/lattice/pkg/events/schema"
	"github.com/lattice-platform/lattice/pkg/platform/httpserver"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/pkg/testinfra/speccheck"
	"github.com/lattice-platform/lattice/services/analytics/analyticssvc"
	"github.com/lattice-platform/lattice/services/analytics/app/porttest"
	analyticsapi "github.com/lattice-platform/lattice/services/analytics/oapi"
	resourceoapi "github.com/lattice-platform/lattice/services/resource/oapi"
)

func analyticsBearer(token string) analyticsapi.RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
}

// TestAnalyticsAPI feeds usage records and audit events through NATS (a
// container) into the analytics service and reads them back through its
// generated client, every request and response validated against
// openapi/analytics.yaml and every event against openapi/events.yaml.
// It runs once on each store: PostgreSQL and ClickHouse.
func TestAnalyticsAPI(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"postgres", "clickhouse"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			seed := make([]byte, ed25519.SeedSize)
			_, _ = crand.Read(seed)
			cfg := analyticssvc.Config{CheckpointEvery: 50 * time.Millisecond, SigningKeySeed: seed}
			if store == "clickhouse" {
				cfg.ClickHouseURL = testinfra.ClickHouse(t)
			} else {
				cfg.DatabaseURL = testinfra.Postgres(t)
			}
			testAnalyticsAPI(t, cfg)
		})
	}
}

func testAnalyticsAPI(t *testing.T, cfg analyticssvc.Config) {
	ctx := context.Background()
	broker := testinfra.NATSContainer(t)
	nc, js, err := natsjs.Connect(broker.URL, "analytics-test")
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	require.NoError(t, natsjs.EnsureStreams(ctx, js))
	p := startPlatform(t)
	cfg.Verifier, cfg.JetStream, cfg.ResourceURL = p.verifier, js, p.url
	cfg.Subscriber = speccheck.Subscribing(t, natsjs.NewSubscriber(js, slog.New(slog.DiscardHandler)))
	svc, err := analyticssvc.New(ctx, cfg, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(svc.Close)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); svc.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })
	srv := httptest.NewServer(httpserver.Handler(httpserver.Config{}, svc.HTTP))
	t.Cleanup(srv.Close)
	spec, err := analyticsapi.GetSpec()
	require.NoError(t, err)
	tr := speccheck.New(t, spec)
	client, err := analyticsapi.NewClientWithResponses(srv.URL, analyticsapi.WithHTTPClient(&http.Client{Transport: tr}))
	require.NoError(t, err)

	aliceID, alice := p.apiKeyFor(t, "alice-analytics@example.com", false)
	_, admin := p.apiKeyFor(t, "admin-analytics@example.com", true)

	// Usage: 2,000 records, each published twice under different message
	// ids (a redelivery JetStream cannot catch), a quarter of them alice's:
	// the first half one record a message (gateway.request), the rest as
	// the gateway publishes them, 100 a message (gateway.requests).
	doc := eventsDoc(t)
	// Noon yesterday: the records and the ±1 h report range around them
	// stay inside one UTC day whenever the test runs (near midnight a
	// range around now spans two days and the day series has two points).
	start := time.Now().UTC().Truncate(24 * time.Hour).Add(-12 * time.Hour)
	records := porttest.UsageRecords(rand.New(rand.NewPCG(4, 2)), 2000, start)
	pub := speccheck.Publishing(t, natsjs.NewPublisher(js, 10*time.Second))
	var evs []ports.Event
	twice := func(env ports.Event) {
		evs = append(evs, ports.Event{ID: env.ID, Subject: "usage.gateway", Payload: env.Payload},
			ports.Event{ID: env.ID + "-again", Subject: "usage.gateway", Payload: env.Payload})
	}
	conforms := func(env ports.Event, schemaName string) {
		var parsed map[string]any
		require.NoError(t, json.Unmarshal(env.Payload, &parsed))
		require.NoError(t, doc.Components.Schemas[schemaName].Value.VisitJSON(parsed["data"]))
	}
	aliceCount := 0
	var batch []schema.UsageRecord
	for i, r := range records {
		identity := r.Identity
		if i%4 == 0 {
			identity, aliceCount = aliceID, aliceCount+1
		}
		rec := schema.UsageRecord{RequestId: r.RequestID, Route: r.Route, Method: r.Method, Path: r.Path, Status: r.Status,
			LatencyMs: r.LatencyMS, BytesIn: r.BytesIn, BytesOut: r.BytesOut, Identity: &identity, Time: r.Time}
		if i < 1000 {
			env, err := events.New("lattice/gateway", schema.CloudEventTypeGatewayRequest, r.RequestID, r.Time, rec)
			require.NoError(t, err)
			if i == 0 {
				conforms(env, "UsageRecord")
			}
			twice(env)
			continue
		}
		if batch = append(batch, rec); len(batch) == 100 {
			env, err := events.New("lattice/gateway", schema.CloudEventTypeGatewayRequests, batch[0].RequestId, batch[0].Time, schema.UsageBatch{Records: batch})
			require.NoError(t, err)
			if i == 1099 {
				conforms(env, "UsageBatch")
			}
			twice(env)
			batch = nil
		}
	}
	for _, err := range pub.PublishBatch(ctx, evs) {
		require.NoError(t, err)
	}
	from, to := start.Add(-time.Hour), start.Add(time.Hour)
	day := analyticsapi.GetUsageParamsGranularity("day")
	eventually(t, 30*time.Second, "every record is counted, once", func() bool {
		r, err := client.GetSummaryWithResponse(ctx, &analyticsapi.GetSummaryParams{From: from, To: to}, analyticsBearer(admin))
		return err == nil && r.JSON200 != nil && r.JSON200.Total.Requests == 2000
	})
	byStatus := analyticsapi.GroupByStatus
	st, err := client.GetUsageWithResponse(ctx, &analyticsapi.GetUsageParams{From: from, To: to, Granularity: &day, GroupBy: &byStatus}, analyticsBearer(admin))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, st.StatusCode(), string(st.Body))
	var total int64
	for _, pt := range st.JSON200.Points {
		total += pt.Requests
		require.Greater(t, pt.P95Ms, 0.0)
	}
	require.EqualValues(t, 2000, total)
	mine, err := client.GetUsageWithResponse(ctx, &analyticsapi.GetUsageParams{From: from, To: to, Granularity: &day}, analyticsBearer(alice))
	require.NoError(t, err)
	require.Len(t, mine.JSON200.Points, 1)
	require.EqualValues(t, aliceCount, mine.JSON200.Points[0].Requests, "alice sees only her own usage")

	// Top resources: the most read first, but only those the caller may read.
	mineRes, err := p.client.CreateResourceWithResponse(ctx, nil, newInput("Alice's", resourceoapi.Private), resBearer(alice))
	require.NoError(t, err)
	theirs, err := p.client.CreateResourceWithResponse(ctx, nil, newInput("Admin's", resourceoapi.Private), resBearer(admin))
	require.NoError(t, err)
	var reads []ports.Event
	for i := range 12 {
		id := theirs.JSON201.Id.String()
		if i%3 == 0 {
			id = mineRes.JSON201.Id.String()
		}
		rid := fmt.Sprintf("read-%d-%s", i, id)
		env, err := events.New("lattice/gateway", schema.CloudEventTypeGatewayRequest, rid, start, schema.UsageRecord{
			RequestId: rid, Route: "/v1/resources", Method: "GET", Path: "/v1/resources/" + id, Status: 200, Time: start})
		require.NoError(t, err)
		reads = append(reads, ports.Event{ID: env.ID, Subject: "usage.gateway", Payload: env.Payload})
	}
	for _, err := range pub.PublishBatch(ctx, reads) {
		require.NoError(t, err)
	}
	eventually(t, 30*time.Second, "the reads are counted", func() bool {
		r, err := client.GetTopResourcesWithResponse(ctx, &analyticsapi.GetTopResourcesParams{From: from, To: to}, analyticsBearer(admin))
		return err == nil && r.JSON200 != nil && len(r.JSON200.Items) == 2 && r.JSON200.Items[0].Reads == 8
	})
	aliceTop, err := client.GetTopResourcesWithResponse(ctx, &analyticsapi.GetTopResourcesParams{From: from, To: to}, analyticsBearer(alice))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, aliceTop.StatusCode(), string(aliceTop.Body))
	require.Len(t, aliceTop.JSON200.Items, 1, "the admin's private resource is not ranked for alice")
	require.Equal(t, mineRes.JSON201.Id, aliceTop.JSON200.Items[0].ResourceId)
	require.EqualValues(t, 4, aliceTop.JSON200.Items[0].Reads)

	// Audit: events on AUDIT are chained, listed and verified.
	var audits []ports.Event
	for i, action := range []string{"user.signup", "session.login", "resource.create", "resource.delete"} {
		env, err := events.New("lattice/test", schema.CloudEventTypeAuditRecorded, aliceID, start.Add(time.Duration(i)*time.Second),
			schema.AuditRecord{Actor: aliceID, Action: action, Target: "resource/r1", Details: &map[string]any{"ip": "127.0.0.1"}})
		require.NoError(t, err)
		var parsed map[string]any
		require.NoError(t, json.Unmarshal(env.Payload, &parsed))
		require.NoError(t, doc.Components.Schemas["AuditRecord"].Value.VisitJSON(parsed["data"]))
		audits = append(audits, ports.Event{ID: env.ID, Subject: "audit.test", Payload: env.Payload})
	}
	for _, err := range pub.PublishBatch(ctx, append(audits, audits...)) {
		require.NoError(t, err)
	}
	eventually(t, 30*time.Second, "the audit events are listed", func() bool {
		r, err := client.ListAuditEventsWithResponse(ctx, &analyticsapi.ListAuditEventsParams{Actor: &aliceID}, analyticsBearer(admin))
		return err == nil && r.JSON200 != nil && len(r.JSON200.Items) == 4
	})
	eventually(t, 30*time.Second, "a checkpoint covers the chain", func() bool {
		r, err := client.VerifyAuditEventsWithResponse(ctx, analyticsapi.VerifyRequest{}, analyticsBearer(admin))
		return err == nil && r.JSON200 != nil && r.JSON200.Ok && r.JSON200.Entries == 4 && r.JSON200.Checkpoints > 0 &&
			r.JSON200.ExportedCheckpoints != nil && *r.JSON200.ExportedCheckpoints > 0
	})
	// The background verification and the ingest lag are exported.
	svc.VerifyAudit(ctx)
	gauges := gather(t, svc.HTTP.Metrics.Registry)
	require.Equal(t, 1.0, gauges[`lattice_audit_verification_ok`])
	require.Equal(t, 1.0, gauges[`lattice_audit_verifications_total{result="ok"}`])
	require.InDelta(t, float64(time.Now().Unix()), gauges[`lattice_audit_verification_timestamp_seconds`], 60)
	require.Greater(t, gauges[`lattice_analytics_ingest_lag_seconds{stream="USAGE"}`], 3600.0, "the records are from yesterday noon")
	require.Contains(t, gauges, `lattice_analytics_ingest_lag_seconds{stream="AUDIT"}`)

	one := 1
	page, err := client.ListAuditEventsWithResponse(ctx, &analyticsapi.ListAuditEventsParams{Limit: &one}, analyticsBearer(admin))
	require.NoError(t, err)
	require.NotNil(t, page.JSON200.NextCursor)
	require.Equal(t, "user.signup", page.JSON200.Items[0].Action)

	denied, err := client.ListAuditEventsWithResponse(ctx, &analyticsapi.ListAuditEventsParams{}, analyticsBearer(alice))
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, denied.StatusCode())
	tr.SkipRequestValidation = true
	for _, path := range []string{
		"/v1/analytics/usage", "/v1/analytics/usage?from=yesterday&to=today",
		"/v1/analytics/usage?from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z",
		"/v1/analytics/usage?from=2026-01-01T00:00:00Z&to=2026-12-01T00:00:00Z&granularity=minute",
		"/v1/analytics/usage?from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z&group_by=colour",
		"/v1/audit-events?cursor=abc",
	} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, path)
		require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"), path)
	}
}

// gather reads reg's gauges and counters as "name{label="value",…}" →
// value, labels in name order.
func gather(t *testing.T, reg prometheus.Gatherer) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			key := f.GetName()
			if len(labels) > 0 {
				key += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.GetGauge() != nil:
				out[key] = m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				out[key] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}
