package natsjs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lattice-platform/lattice/pkg/platform/observe"
	"github.com/lattice-platform/lattice/pkg/platform/priority"
	"github.com/lattice-platform/lattice/pkg/ports"
)

// Subscriber is the JetStream ports.EventSubscriber: a durable pull
// consumer per subscription, on the stream that holds its subjects,
// explicit acks, and redelivery with a delay when the handler fails. After
// MaxDeliver tries an event is parked on the DLQ stream (subject
// dlq.<consumer>, with the error in a header) instead of being retried for
// ever.
type Subscriber struct {
	js         jetstream.JetStream
	log        *slog.Logger
	MaxDeliver int
	RetryDelay time.Duration
	// Gate, when set, paces the handling of each event (and each batch)
	// while the process serves requests (ADR 0034).
	Gate *priority.Gate
	// ackWaitOfGroups is SubscribeGroups' AckWait (0: 60 s); tests
	// shorten it.
	ackWaitOfGroups time.Duration
}

var _ ports.EventSubscriber = (*Subscriber)(nil)

// NewSubscriber subscribes through js.
func NewSubscriber(js jetstream.JetStream, log *slog.Logger) *Subscriber {
	return &Subscriber{js: js, log: log, MaxDeliver: 10, RetryDelay: 2 * time.Second}
}

// streamOf is the stream that holds subjects (EVENTS, USAGE, AUDIT…).
func (s *Subscriber) streamOf(ctx context.Context, subjects []string) (string, error) {
	if len(subjects) == 0 {
		return "", errors.New("nats: a subscription needs subjects")
	}
	name, err := s.js.StreamNameBySubject(ctx, subjects[0])
	if err != nil {
		return "", fmt.Errorf("nats: no stream holds %s: %w", subjects[0], err)
	}
	return name, nil
}

// Subscribe consumes until ctx ends.
func (s *Subscriber) Subscribe(ctx context.Context, durable string, subjects []string, handle func(context.Context, ports.Event) error) error {
	stream, err := s.streamOf(ctx, subjects)
	if err != nil {
		return err
	}
	cons, err := s.js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{
		Durable: durable, FilterSubjects: subjects, AckPolicy: jetstream.AckExplicitPolicy,
		MaxDeliver: s.MaxDeliver, AckWait: 30 * time.Second,
		// One event at a time keeps stream order: an update is never applied
		// before the create it follows.
		MaxAckPending: 1,
	})
	if err != nil {
		return fmt.Errorf("nats: consumer %s: %w", durable, err)
	}
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		e := eventOf(msg)
		hctx, span := startProcess(ctx, msg.Subject(), msg.Headers(), durable)
		ran := s.Gate.Background(hctx)
		err := handle(hctx, e)
		ran()
		end(span, err)
		s.settle(ctx, hctx, durable, msg, e.ID, err)
	})
	if err != nil {
		return fmt.Errorf("nats: consume %s: %w", durable, err)
	}
	<-ctx.Done()
	cc.Drain()
	return nil
}

// eventOf is the event msg delivers; its id is the one it was published
// under (the deduplication id).
func eventOf(msg jetstream.Msg) ports.Event {
	return ports.Event{ID: msg.Headers().Get(jetstream.MsgIDHeader), Subject: msg.Subject(), Payload: msg.Data()}
}

// settle acknowledges msg when its handler succeeded, and otherwise
// redelivers it after RetryDelay, or parks it on the DLQ once it has been
// delivered MaxDeliver times. hctx carries the handling's trace, which the
// parked copy keeps.
func (s *Subscriber) settle(ctx, hctx context.Context, durable string, msg jetstream.Msg, id string, err error) {
	if err == nil {
		_ = msg.Ack()
		return
	}
	meta, _ := msg.Metadata()
	if meta == nil || int(meta.NumDelivered) < s.MaxDeliver {
		_ = msg.NakWithDelay(s.RetryDelay)
		return
	}
	s.log.ErrorContext(ctx, "event handling failed for the last time; parked in DLQ", "consumer", durable, "event", id, "error", err)
	parked := nats.NewMsg("dlq." + durable)
	parked.Data = msg.Data()
	parked.Header.Set("Lattice-Original-Subject", msg.Subject())
	parked.Header.Set("Lattice-Error", err.Error())
	observe.InjectTraceContext(hctx, headerCarrier(parked.Header))
	if _, perr := s.js.PublishMsg(ctx, parked, jetstream.WithMsgID("dlq-"+durable+"-"+id)); perr != nil {
		_ = msg.NakWithDelay(s.RetryDelay) // keep it until it can be parked
		return
	}
	_ = msg.Term()
}
