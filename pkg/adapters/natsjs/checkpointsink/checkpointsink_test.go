package checkpointsink_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	"github.com/lattice-platform/lattice/pkg/adapters/natsjs/checkpointsink"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/services/analytics/analyticstest"
	"github.com/lattice-platform/lattice/services/analytics/app/porttest"
	"github.com/lattice-platform/lattice/services/analytics/domain"
)

func TestCheckpointSink(t *testing.T) { porttest.CheckpointSink(t, analyticstest.NATSSink) }

// The checkpoint stream refuses to lose anything: no message can be
// deleted, the stream cannot be purged, and a roll-up cannot replace it.
func TestCheckpointStreamCannotBeRewritten(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	nc, js, err := natsjs.Connect(testinfra.NATS(t), "test")
	require.NoError(t, err)
	defer nc.Close()
	sink, err := checkpointsink.New(ctx, js)
	require.NoError(t, err)
	require.NoError(t, sink.Export(ctx, domain.Checkpoint{Seq: 1, At: time.Now(), KeyID: "k1", Signature: []byte("sig")}))
	stream, err := js.Stream(ctx, checkpointsink.Stream.Name)
	require.NoError(t, err)
	require.Error(t, stream.DeleteMsg(ctx, 1), "deleting a checkpoint is refused")
	require.Error(t, stream.Purge(ctx), "purging is refused")
	roll := nats.NewMsg("audit-checkpoints.k1")
	roll.Header.Set("Nats-Rollup", "sub")
	_, err = js.PublishMsg(ctx, roll)
	require.Error(t, err, "a roll-up is refused")
	got, err := sink.Exported(ctx, 0, 10)
	require.NoError(t, err)
	require.Len(t, got, 1)
}
