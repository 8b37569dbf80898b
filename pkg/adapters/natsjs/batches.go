package natsjs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lattice-platform/lattice/pkg/ports"
)

// SubscribeBatches hands events of subjects to handle in batches of up to
// max, waiting up to wait for a batch to fill, through the durable
// consumer. A batch is acknowledged only when handle returns nil (after
// the results are committed); otherwise every event in it is redelivered
// after a pause. It runs until ctx ends.
func (s *Subscriber) SubscribeBatches(ctx context.Context, durable string, subjects []string, max int, wait time.Duration,
	handle func(context.Context, []ports.Event) error) error {
	stream, err := s.streamOf(ctx, subjects)
	if err != nil {
		return err
	}
	log := s.log
	cons, err := s.js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{
		Durable: durable, FilterSubjects: subjects, AckPolicy: jetstream.AckExplicitPolicy,
		AckWait: 60 * time.Second, MaxAckPending: 4 * max,
	})
	if err != nil {
		return fmt.Errorf("nats: consumer %s: %w", durable, err)
	}
	for ctx.Err() == nil {
		batch, err := cons.Fetch(max, jetstream.FetchMaxWait(wait))
		if err != nil {
			if ctx.Err() == nil {
				log.WarnContext(ctx, "fetch failed", "consumer", durable, "error", err)
				sleep(ctx, time.Second)
			}
			continue
		}
		var msgs []jetstream.Msg
		var events []ports.Event
		var headers []nats.Header
		for msg := range batch.Messages() {
			msgs = append(msgs, msg)
			events = append(events, eventOf(msg))
			headers = append(headers, msg.Headers())
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && ctx.Err() == nil {
			log.WarnContext(ctx, "fetch ended early", "consumer", durable, "error", err)
		}
		if len(msgs) == 0 {
			continue
		}
		hctx, span := startBatch(ctx, durable, headers)
		ran := s.Gate.Background(hctx)
		err = handle(hctx, events)
		ran()
		end(span, err)
		if err != nil {
			log.WarnContext(ctx, "batch failed; redelivering", "consumer", durable, "messages", len(msgs), "error", err)
			for _, m := range msgs {
				_ = m.NakWithDelay(2 * time.Second)
			}
			continue
		}
		for _, m := range msgs {
			_ = m.Ack()
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
