package contract_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	"github.com/lattice-platform/lattice/pkg/testinfra"
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
	require.Len(t, pending, 1000, "with the broker down every event waits in the outbox")
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
