package resourcesvc_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	"github.com/lattice-platform/lattice/pkg/platform/httpserver"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/services/resource/domain"
	"github.com/lattice-platform/lattice/services/resource/resourcesvc"
)

func TestMain(m *testing.M) { testinfra.Run(m) }

// staticVerifier accepts one token as one caller; benchmarks measure the
// resource service, not token checks (benchmarked in tokenverify).
type staticVerifier struct{}

func (staticVerifier) Verify(context.Context, string) (ports.Identity, error) {
	return ports.Identity{Subject: "01a20000-0000-7000-8000-0000000000bb", Scopes: []string{"resources:read", "resources:write"}}, nil
}

func start(b *testing.B, pub ports.EventPublisher) (*resourcesvc.Service, *httptest.Server) {
	svc, err := resourcesvc.New(context.Background(), resourcesvc.Config{DatabaseURL: testinfra.MySQL(b), Verifier: staticVerifier{}, Publisher: pub},
		slog.New(slog.DiscardHandler))
	require.NoError(b, err)
	b.Cleanup(svc.Close)
	srv := httptest.NewServer(httpserver.Handler(httpserver.Config{}, svc.HTTP))
	b.Cleanup(srv.Close)
	return svc, srv
}

// smallCreate is a create with two tags and one metadata pair.
const smallCreate = `{"title":"Bench","body":"some text","tags":["a","b"],"metadata":{"k":"v"}}`

func post(b *testing.B, client *http.Client, url string) string {
	return postBody(b, client, url, smallCreate)
}

func postBody(b *testing.B, client *http.Client, url, body string) string {
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/resources", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer x")
	resp, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b.Fatalf("status %d", resp.StatusCode)
	}
	return strings.Trim(resp.Header.Get("Location"), "/")
}

// BenchmarkCreateHTTP measures resource creates per second end to end:
// HTTP, validation, one MySQL transaction (row, version, tags, metadata,
// outbox), with two tags and one metadata pair (small) and with as many
// as a resource may have (full).
func BenchmarkCreateHTTP(b *testing.B) {
	_, srv := start(b, nil)
	client := srv.Client()
	tags := make([]string, domain.MaxTags)
	meta := make(map[string]string, domain.MaxMetadataKeys)
	for i := range tags {
		tags[i] = fmt.Sprintf("tag-%02d", i)
	}
	for i := range domain.MaxMetadataKeys {
		meta[fmt.Sprintf("key%02d", i)] = fmt.Sprintf("value %d", i)
	}
	full, err := json.Marshal(map[string]any{"title": "Bench", "body": "some text", "tags": tags, "metadata": meta})
	require.NoError(b, err)
	for _, bc := range []struct{ name, body string }{{"small", smallCreate}, {"full", string(full)}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					postBody(b, client, srv.URL, bc.body)
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
		})
	}
}

// BenchmarkGetHTTP reports GET /v1/resources/{id} latency percentiles.
func BenchmarkGetHTTP(b *testing.B) {
	_, srv := start(b, nil)
	client := srv.Client()
	var ids []string
	for range 100 {
		ids = append(ids, post(b, client, srv.URL))
	}
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/"+ids[i%len(ids)], nil)
		req.Header.Set("Authorization", "Bearer x")
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("get: %v", err)
		}
		resp.Body.Close()
		lat = append(lat, time.Since(t0))
		i++
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*50/100].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds()), "p95-µs")
}

// BenchmarkOutboxRelay measures events relayed per second by one relay
// from MySQL to an embedded JetStream, publishing and marking sent. It
// drains a fixed backlog of 20,000 events, so read its events/s and
// ns/event metrics, not ns/op.
func BenchmarkOutboxRelay(b *testing.B) {
	srv, err := natsjs.StartEmbedded(b.TempDir())
	require.NoError(b, err)
	b.Cleanup(srv.Close)
	nc, js, err := natsjs.Connect(srv.URL(), "bench")
	require.NoError(b, err)
	b.Cleanup(nc.Close)
	require.NoError(b, natsjs.EnsureStreams(context.Background(), js))
	svc, _ := start(b, natsjs.NewPublisher(js, 10*time.Second))
	const n = 20000
	seedOutbox(b, svc, n)
	b.ResetTimer()
	relayed := 0
	for relayed < n {
		got, err := svc.Relay.Round(context.Background())
		require.NoError(b, err)
		relayed += got
	}
	b.StopTimer()
	b.ReportMetric(float64(relayed)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(relayed), "ns/event")
}

// seedOutbox writes n pending events with multi-row inserts (creating n
// resources first would dominate the benchmark's set-up).
func seedOutbox(b *testing.B, svc *resourcesvc.Service, n int) {
	db := svc.DB()
	payload := strings.Repeat("x", 600) // about the size of a resource.created envelope
	for start := 0; start < n; start += 1000 {
		var sb strings.Builder
		args := []any{}
		sb.WriteString("INSERT INTO outbox (event_id, subject, payload, created_at) VALUES ")
		for i := start; i < start+1000 && i < n; i++ {
			if i > start {
				sb.WriteString(",")
			}
			sb.WriteString("(?, ?, ?, ?)")
			args = append(args, uuid.NewString(), "events.resource.created", payload, time.Now().UTC())
		}
		_, err := db.ExecContext(context.Background(), sb.String(), args...)
		require.NoError(b, err, fmt.Sprintf("seed from %d", start))
	}
}
