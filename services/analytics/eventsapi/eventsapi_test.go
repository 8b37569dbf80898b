package eventsapi_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/events"
	"github.com/lattice-platform/lattice/pkg/events/schema"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/analytics/app"
	"github.com/lattice-platform/lattice/services/analytics/app/fake"
	"github.com/lattice-platform/lattice/services/analytics/domain"
	"github.com/lattice-platform/lattice/services/analytics/eventsapi"
)

// sizedStore records the size of every insert.
type sizedStore struct {
	*fake.UsageStore
	inserts []int
}

func (s *sizedStore) Ingest(ctx context.Context, records []domain.UsageRecord) (int, error) {
	s.inserts = append(s.inserts, len(records))
	return s.UsageStore.Ingest(ctx, records)
}

// TestUsageTakesBothFormsAndBoundsEachInsert: batched (gateway.requests)
// and single (gateway.request) events are both stored, a malformed one is
// left out, and no insert holds more than IngestChunk records.
func TestUsageTakesBothFormsAndBoundsEachInsert(t *testing.T) {
	store := &sizedStore{UsageStore: fake.NewUsageStore()}
	h := eventsapi.New(app.New(app.Deps{Usage: store}), slog.New(slog.DiscardHandler))
	h.IngestChunk = 3
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	rec := func(id string) schema.UsageRecord {
		return schema.UsageRecord{RequestId: id, Route: "/v1/resources", Method: "GET", Path: "/v1/resources", Status: 200, Time: at}
	}
	batch, err := events.New("lattice/gateway", schema.CloudEventTypeGatewayRequests, "b1", at,
		schema.UsageBatch{Records: []schema.UsageRecord{rec("r1"), rec("r2"), rec("r3"), rec("r4"), rec("r5")}})
	require.NoError(t, err)
	single, err := events.New("lattice/gateway", schema.CloudEventTypeGatewayRequest, "r6", at, rec("r6"))
	require.NoError(t, err)
	var oldest time.Time
	h.Ingested = func(_ string, t time.Time) { oldest = t }

	err = h.Usage(context.Background(), []ports.Event{batch, {ID: "bad", Payload: []byte("{")}, single})
	require.NoError(t, err)
	require.Equal(t, []int{3, 3}, store.inserts, "six records, three an insert")
	require.True(t, at.Equal(oldest))
}
