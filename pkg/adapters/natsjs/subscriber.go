package natsjs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lattice-platform/lattice/pkg/ports"
)

// Subscriber is the JetStream ports.EventSubscriber: a durable pull
// consumer per subscription on the EVENTS stream, explicit acks, and
// redelivery with a delay when the handler fails. After MaxDeliver tries a
// message is left (and logged) rather than retried for ever.
type Subscriber struct {
	js         jetstream.JetStream
	stream     string
	log        *slog.Logger
	MaxDeliver int
	RetryDelay time.Duration
}

var _ ports.EventSubscriber = (*Subscriber)(nil)

// NewSubscriber subscribes to stream (for example "EVENTS").
func NewSubscriber(js jetstream.JetStream, stream string, log *slog.Logger) *Subscriber {
	return &Subscriber{js: js, stream: stream, log: log, MaxDeliver: 10, RetryDelay: 2 * time.Second}
}

// Subscribe consumes until ctx ends.
func (s *Subscriber) Subscribe(ctx context.Context, durable, subject string, handle func(context.Context, ports.Event) error) error {
	cons, err := s.js.CreateOrUpdateConsumer(ctx, s.stream, jetstream.ConsumerConfig{
		Durable: durable, FilterSubject: subject, AckPolicy: jetstream.AckExplicitPolicy,
		MaxDeliver: s.MaxDeliver, AckWait: 30 * time.Second,
	})
	if err != nil {
		return fmt.Errorf("nats: consumer %s: %w", durable, err)
	}
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		e := ports.Event{ID: msg.Headers().Get(jetstream.MsgIDHeader), Subject: msg.Subject(), Payload: msg.Data()}
		if err := handle(ctx, e); err != nil {
			meta, _ := msg.Metadata()
			if meta != nil && int(meta.NumDelivered) >= s.MaxDeliver {
				s.log.ErrorContext(ctx, "event handling failed for the last time", "consumer", durable, "event", e.ID, "error", err)
				_ = msg.Term()
				return
			}
			_ = msg.NakWithDelay(s.RetryDelay)
			return
		}
		_ = msg.Ack()
	})
	if err != nil {
		return fmt.Errorf("nats: consume %s: %w", durable, err)
	}
	<-ctx.Done()
	cc.Drain()
	return nil
}
