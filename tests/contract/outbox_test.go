package contract_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	"github.com/lattice-platform/lattice/pkg/events"
	"github.com/lattice-platform/lattice/pkg/events/schema"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/pkg/testinfra/speccheck"
	"github.com/lattice-platform/lattice/services/resource/app"
	"github.com/lattice-platform/lattice/services/resource/domain"
	"github.com/lattice-platform/lattice/services/resource/resourcesvc"
)

// TestOutboxSurvivesABrokerOutage stops NATS while 1,000 resources are
// created, starts it again, and checks that all 1,000 resource.created
// events arrive, exactly once each by id, and that each is valid against
// openapi/events.yaml.
func TestOutboxSurvivesABrokerOutage(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	broker := testinfra.NATSContainer(t)
	nc, js, err := natsjs.Connect(broker.URL, "outbox-test")
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	require.NoError(t, natsjs.EnsureStreams(ctx, js))

	svc, err := resourcesvc.New(ctx, resourcesvc.Config{DatabaseURL: testinfra.MySQL(t),
		Publisher: natsjs.NewPublisher(js, 2*time.Second)}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(svc.Close)
	svc.Relay.MaxBackoff = time.Second
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); svc.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })

	broker.Stop(t)
	owner := domain.Caller{Subject: "01a20000-0000-7000-8000-0000000000aa", Scopes: []string{domain.ScopeWrite}}
	created := map[string]bool{}
	for i := range 1000 {
		res, err := svc.App.Create(ctx, owner, app.Input{Title: fmt.Sprintf("R%d", i), ContentType: "text/plain", Visibility: domain.Private}, "")
		require.NoError(t, err)
		created[res.Resource.ID] = true
	}
	pending, err := svc.Outbox.Pending(ctx, 2000)
	require.NoError(t, err)
	require.Len(t, pending, 2000, "with the broker down every event (and its audit event) waits in the outbox")
	broker.Start(t)

	stream, err := js.Stream(ctx, "EVENTS")
	require.NoError(t, err)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		info, err := stream.Info(ctx)
		if err == nil && info.State.Msgs >= 1000 {
			require.EqualValues(t, 1000, info.State.Msgs, "no event stored twice")
			break
		}
		require.True(t, time.Now().Before(deadline), "events did not arrive within 2 minutes")
		time.Sleep(50 * time.Millisecond)
	}

	doc, err := openapi3.NewLoader().LoadFromFile("../../openapi/events.yaml")
	require.NoError(t, err)
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	require.NoError(t, err)
	seen := map[string]bool{}
	batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(30*time.Second))
	require.NoError(t, err)
	for msg := range batch.Messages() {
		var env map[string]any
		require.NoError(t, json.Unmarshal(msg.Data(), &env))
		require.NoError(t, doc.Components.Schemas["CloudEvent"].Value.VisitJSON(env))
		require.NoError(t, doc.Components.Schemas["ResourceCreated"].Value.VisitJSON(env["data"]))
		id := env["id"].(string)
		require.False(t, seen[id], "event %s delivered twice", id)
		require.Equal(t, id, msg.Headers().Get(jetstream.MsgIDHeader))
		seen[id] = true
		require.True(t, created[env["subject"].(string)])
	}
	require.NoError(t, batch.Error())
	require.Len(t, seen, 1000)

	audit, err := js.Stream(ctx, "AUDIT")
	require.NoError(t, err)
	deadline = time.Now().Add(30 * time.Second)
	for {
		info, err := audit.Info(ctx)
		require.NoError(t, err)
		if info.State.Msgs >= 1000 {
			require.EqualValues(t, 1000, info.State.Msgs, "one audit event per change, none twice")
			break
		}
		require.True(t, time.Now().Before(deadline), "audit events did not arrive")
		time.Sleep(20 * time.Millisecond)
	}

	// The relay marks everything sent.
	deadline = time.Now().Add(30 * time.Second)
	for {
		pending, err := svc.Outbox.Pending(ctx, 10)
		require.NoError(t, err)
		if len(pending) == 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "outbox not drained")
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTwoRelaysPublishEachEventOnce runs two relays (two replicas) over one
// outbox: they race for the same rows, and JetStream keeps one copy of each
// event by its id.
func TestTwoRelaysPublishEachEventOnce(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	broker := testinfra.NATSContainer(t)
	dsn := testinfra.MySQL(t)
	var replicas []*resourcesvc.Service
	for i := range 2 {
		nc, js, err := natsjs.Connect(broker.URL, fmt.Sprintf("replica-%d", i))
		require.NoError(t, err)
		t.Cleanup(nc.Close)
		require.NoError(t, natsjs.EnsureStreams(ctx, js))
		svc, err := resourcesvc.New(ctx, resourcesvc.Config{DatabaseURL: dsn, Publisher: natsjs.NewPublisher(js, 5*time.Second)}, slog.New(slog.DiscardHandler))
		require.NoError(t, err)
		t.Cleanup(svc.Close)
		svc.Relay.Batch = 25 // small batches make the relays interleave
		replicas = append(replicas, svc)
	}
	owner := domain.Caller{Subject: "01a20000-0000-7000-8000-0000000000cc", Scopes: []string{domain.ScopeWrite}}
	for i := range 300 {
		_, err := replicas[i%2].App.Create(ctx, owner, app.Input{Title: fmt.Sprintf("R%d", i), ContentType: "text/plain", Visibility: domain.Private}, "")
		require.NoError(t, err)
	}
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, r := range replicas {
		wg.Add(1)
		go func() { defer wg.Done(); r.Relay.Run(runCtx) }()
	}
	t.Cleanup(func() { stop(); wg.Wait() })

	nc, js, err := natsjs.Connect(broker.URL, "checker")
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	stream, err := js.Stream(ctx, "EVENTS")
	require.NoError(t, err)
	deadline := time.Now().Add(time.Minute)
	for {
		pending, err := replicas[0].Outbox.Pending(ctx, 1)
		require.NoError(t, err)
		if len(pending) == 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "outbox not drained")
		time.Sleep(20 * time.Millisecond)
	}
	info, err := stream.Info(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 300, info.State.Msgs, "each event stored once whichever relay sent it")
}

// TestFileRejectedMarksTheFile plays the processing service's part of the
// upload saga: a file.rejected event on EVENTS makes the resource service
// mark the file rejected, once however often the event is delivered.
func TestFileRejectedMarksTheFile(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	broker := testinfra.NATSContainer(t)
	nc, js, err := natsjs.Connect(broker.URL, "saga-test")
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	require.NoError(t, natsjs.EnsureStreams(ctx, js))
	pub := speccheck.Publishing(t, natsjs.NewPublisher(js, 5*time.Second))
	svc, err := resourcesvc.New(ctx, resourcesvc.Config{DatabaseURL: testinfra.MySQL(t), Publisher: pub,
		Subscriber: speccheck.Subscribing(t, natsjs.NewSubscriber(js, slog.New(slog.DiscardHandler)))}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(svc.Close)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); svc.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })

	owner := domain.Caller{Subject: "01a20000-0000-7000-8000-0000000000dd", Scopes: []string{domain.ScopeRead, domain.ScopeWrite}}
	res, err := svc.App.Create(ctx, owner, app.Input{Title: "With a bad file", ContentType: "text/plain", Visibility: domain.Private}, "")
	require.NoError(t, err)
	f, err := svc.App.AddFile(ctx, owner, res.Resource.ID, app.Upload{Name: "data.json", Sniffed: "text/plain; charset=utf-8", Body: strings.NewReader(`{"broken":`)})
	require.NoError(t, err)
	require.Equal(t, domain.FileStored, f.Status)

	env, err := events.New("lattice/processing", schema.CloudEventTypeFileRejected, f.ID, time.Now(), schema.FileRejected{
		ResourceId: res.Resource.ID, FileId: f.ID, Reason: "the file could not be read: it is corrupt", RejectedAt: time.Now().UTC()})
	require.NoError(t, err)
	doc, err := openapi3.NewLoader().LoadFromFile("../../openapi/events.yaml")
	require.NoError(t, err)
	var parsed map[string]any
	require.NoError(t, json.Unmarshal(env.Payload, &parsed))
	require.NoError(t, doc.Components.Schemas["FileRejected"].Value.VisitJSON(parsed["data"]))
	for range 2 { // a redelivered event changes nothing more
		errs := pub.PublishBatch(ctx, []ports.Event{{ID: env.ID + "-" + strconv.Itoa(time.Now().Nanosecond()), Subject: env.Subject, Payload: env.Payload}})
		require.NoError(t, errs[0])
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := svc.App.File(ctx, owner, res.Resource.ID, f.ID)
		require.NoError(t, err)
		if got.Status == domain.FileRejected {
			require.Equal(t, "the file could not be read: it is corrupt", got.RejectedReason)
			break
		}
		require.True(t, time.Now().Before(deadline), "the file was not marked rejected")
		time.Sleep(20 * time.Millisecond)
	}
}
