// Package checkpointsink is the analytics service's app.CheckpointSink on
// JetStream: every signed audit checkpoint is copied to the
// AUDIT_CHECKPOINTS stream, which denies deletes and purges, so whoever can
// write the analytics database cannot rewrite the anchors verification
// trusts (ADR 0014).
package checkpointsink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/services/analytics/app"
	"github.com/lattice-platform/lattice/services/analytics/domain"
)

// Stream holds a copy of every signed audit checkpoint. It
// refuses to delete or purge messages and allows no roll-up, so the
// analytics database's owner cannot rewrite the record verification
// trusts; give the analytics service's NATS user publish rights only.
var Stream = jetstream.StreamConfig{
	Name: "AUDIT_CHECKPOINTS", Subjects: []string{"audit-checkpoints.>"}, Storage: jetstream.FileStorage,
	Retention: jetstream.LimitsPolicy, Duplicates: 10 * time.Minute,
	DenyDelete: true, DenyPurge: true, AllowRollup: false,
}

// Sink is the JetStream app.CheckpointSink.
type Sink struct{ js jetstream.JetStream }

var _ app.CheckpointSink = (*Sink)(nil)

// New opens (creating if missing) the checkpoint stream.
func New(ctx context.Context, js jetstream.JetStream) (*Sink, error) {
	if _, err := js.CreateOrUpdateStream(ctx, Stream); err != nil {
		return nil, fmt.Errorf("nats: stream %s: %w", Stream.Name, err)
	}
	return &Sink{js: js}, nil
}

// exportedCheckpoint is a checkpoint on the wire.
type exportedCheckpoint struct {
	Seq       int64     `json:"seq"`
	Hash      []byte    `json:"hash"`
	At        time.Time `json:"at"`
	KeyID     string    `json:"key_id"`
	Signature []byte    `json:"signature"`
}

// Export publishes cp; its message id makes a repeat a no-op.
func (s *Sink) Export(ctx context.Context, cp domain.Checkpoint) error {
	body, err := json.Marshal(exportedCheckpoint{Seq: cp.Seq, Hash: cp.Hash[:], At: cp.At.UTC(), KeyID: cp.KeyID, Signature: cp.Signature})
	if err != nil {
		return err
	}
	msg := nats.NewMsg("audit-checkpoints." + cp.KeyID)
	msg.Data = body
	id := "cp-" + strconv.FormatInt(cp.Seq, 10) + "-" + strconv.FormatInt(cp.At.UnixNano(), 10)
	if _, err := s.js.PublishMsg(ctx, msg, jetstream.WithMsgID(id)); err != nil {
		return natsjs.Unavailable(err)
	}
	return nil
}

// readAttempts bounds how often Exported reads the stream again after the
// bus failed to answer, and retryWait is the first pause between reads
// (doubled each time). A clustered stream answers "no responders" or times
// out while its leader or a fresh consumer is being placed, for a second
// or two; a verification should not fail for that, nor wait for ever.
const (
	readAttempts = 4
	retryWait    = 250 * time.Millisecond
)

// Exported reads the stream from its start with an ordered consumer. Its
// size grows by one checkpoint per signing period (about 525,000 a year
// at one a minute), each a few hundred bytes. The read is repeated from the
// start when the bus fails mid-way: it has no effect, so repeating is safe.
func (s *Sink) Exported(ctx context.Context, from, to int64) ([]domain.Checkpoint, error) {
	var out []domain.Checkpoint
	err := retry(ctx, readAttempts, retryWait, func() error {
		var err error
		out, err = s.read(ctx, from, to)
		return err
	})
	return out, err
}

// retry calls read until it succeeds, fails for a reason other than the
// bus (a malformed checkpoint stays malformed), the attempts run out or
// ctx ends. It returns read's last error.
func retry(ctx context.Context, attempts int, wait time.Duration, read func() error) error {
	for attempt := 1; ; attempt++ {
		err := read()
		if err == nil || !fault.Of(err, fault.Unavailable) || attempt == attempts || ctx.Err() != nil {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait *= 2
	}
}

// read is one pass over the stream.
func (s *Sink) read(ctx context.Context, from, to int64) ([]domain.Checkpoint, error) {
	stream, err := s.js.Stream(ctx, Stream.Name)
	if err != nil {
		return nil, natsjs.Unavailable(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return nil, natsjs.Unavailable(err)
	}
	last, remaining := info.State.LastSeq, int(info.State.Msgs)
	if remaining == 0 {
		return nil, nil
	}
	// Each consumer (re)creation is bounded: by default the ordered
	// consumer retries it for ever, ignoring ctx, and a request that
	// waits for ever is worse than one that fails and is retried.
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{MaxResetAttempts: 2})
	if err != nil {
		return nil, natsjs.Unavailable(err)
	}
	var out []domain.Checkpoint
	for {
		// Ask for exactly what is left (at most 500), so each fetch ends
		// when its messages arrive rather than lingering until its wait.
		batch, err := cons.Fetch(min(remaining, 500), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return nil, natsjs.Unavailable(err)
		}
		n := 0
		for msg := range batch.Messages() {
			n++
			remaining--
			meta, err := msg.Metadata()
			if err != nil {
				return nil, natsjs.Unavailable(err)
			}
			var e exportedCheckpoint
			if err := json.Unmarshal(msg.Data(), &e); err != nil {
				return nil, fmt.Errorf("nats: checkpoint %d is not one: %w", meta.Sequence.Stream, err)
			}
			var h domain.Hash
			if len(e.Hash) != len(h) {
				return nil, fmt.Errorf("nats: checkpoint %d has a malformed hash", meta.Sequence.Stream)
			}
			copy(h[:], e.Hash)
			if e.Seq >= from && e.Seq <= to {
				out = append(out, domain.Checkpoint{Seq: e.Seq, Hash: h, At: e.At.UTC(), KeyID: e.KeyID, Signature: e.Signature})
			}
			if meta.Sequence.Stream >= last {
				return out, nil
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return nil, natsjs.Unavailable(err)
		}
		if n == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
}
