package natsjs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"

	"github.com/lattice-platform/lattice/pkg/ports"
)

// SubscribeGroups hands the events of subjects that are waiting, up to
// max at a time, to handle through the durable consumer. It waits for the
// first event of a group and not for more, so a lone event is handled at
// once and a backlog in groups of max. Each event is settled on its own
// result as Subscribe settles it: acknowledged, redelivered after
// RetryDelay, or parked on the DLQ after MaxDeliver deliveries. It runs
// until ctx ends.
func (s *Subscriber) SubscribeGroups(ctx context.Context, durable string, subjects []string, max int,
	handle func(context.Context, []ports.Event) []error) error {
	if max < 1 {
		return fmt.Errorf("nats: consumer %s: a group needs room for an event, not %d", durable, max)
	}
	stream, err := s.streamOf(ctx, subjects)
	if err != nil {
		return err
	}
	cons, err := s.js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{
		Durable: durable, FilterSubjects: subjects, AckPolicy: jetstream.AckExplicitPolicy,
		MaxDeliver: s.MaxDeliver, AckWait: s.groupAckWait(),
		// No group is fetched while another is unsettled: the next group
		// starts after everything in this one, so events keep stream order
		// but for the ones a failure sends round again.
		MaxAckPending: max,
	})
	if err != nil {
		return fmt.Errorf("nats: consumer %s: %w", durable, err)
	}
	for ctx.Err() == nil {
		msgs, err := s.nextGroup(ctx, cons, max)
		if err != nil {
			if ctx.Err() == nil {
				s.log.WarnContext(ctx, "fetch failed", "consumer", durable, "error", err)
				sleep(ctx, time.Second)
			}
			continue
		}
		if len(msgs) == 0 {
			continue
		}
		events := make([]ports.Event, len(msgs))
		for i, msg := range msgs {
			events[i] = eventOf(msg)
		}
		hctx, span, each := startGroup(ctx, durable, msgs)
		// The group is one unit of background work, which a handler that
		// works in parts may split (priority.Next).
		hctx, ran := s.Gate.Unit(hctx)
		working := s.keepInProgress(msgs)
		errs := handle(hctx, events)
		working()
		ran()
		if len(errs) != len(events) {
			// A handler that answers for other events than it was given
			// leaves each outcome unknown: every event goes round again.
			err := fmt.Errorf("the handler returned %d results for %d events", len(errs), len(events))
			errs = make([]error, len(events))
			for i := range errs {
				errs[i] = err
			}
		}
		for i, msg := range msgs {
			if each != nil {
				end(each[i].span, errs[i])
				s.settle(ctx, each[i].ctx, durable, msg, events[i].ID, errs[i])
				continue
			}
			s.settle(ctx, hctx, durable, msg, events[i].ID, errs[i])
		}
		end(span, errors.Join(errs...))
	}
	return nil
}

// traced is a context with the span it carries.
type traced struct {
	ctx  context.Context
	span trace.Span
}

// startGroup starts the spans of handling a group. A group of one is
// traced as Subscribe traces an event: the handler's context continues
// the event's trace. A larger group's handler runs in a span of its own,
// linked to each event's trace (startBatch), and each event's trace gets
// a span of its own processing too (each), ended with its outcome, so a
// trace followed across the bus does not stop at a group.
func startGroup(ctx context.Context, durable string, msgs []jetstream.Msg) (context.Context, trace.Span, []traced) {
	if len(msgs) == 1 {
		hctx, span := startProcess(ctx, msgs[0].Subject(), msgs[0].Headers(), durable)
		return hctx, span, nil
	}
	headers := make([]nats.Header, len(msgs))
	each := make([]traced, len(msgs))
	for i, msg := range msgs {
		headers[i] = msg.Headers()
		each[i].ctx, each[i].span = startProcess(ctx, msg.Subject(), msg.Headers(), durable)
	}
	hctx, span := startBatch(ctx, durable, headers)
	return hctx, span, each
}

// groupAckWait is how long the server waits for a group's events to be
// settled before it offers them again (default 60 s). A group of large
// events, handled in parts that give way to requests, can take longer
// than that: while its handler runs, keepInProgress tells the server
// every third of it.
func (s *Subscriber) groupAckWait() time.Duration {
	if s.ackWaitOfGroups > 0 {
		return s.ackWaitOfGroups
	}
	return 60 * time.Second
}

// keepInProgress tells the server, every third of AckWait until the
// returned function is called, that msgs are still being handled, so a
// long group is not offered again (and handled twice) while it runs.
func (s *Subscriber) keepInProgress(msgs []jetstream.Msg) (stop func()) {
	every := s.groupAckWait() / 3
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				for _, m := range msgs {
					_ = m.InProgress()
				}
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// nextGroup waits until an event is there (or ctx ends), then takes what
// else is waiting, up to max in all.
func (s *Subscriber) nextGroup(ctx context.Context, cons jetstream.Consumer, max int) ([]jetstream.Msg, error) {
	first, err := cons.Fetch(1, jetstream.FetchContext(ctx))
	if err != nil {
		return nil, err
	}
	var msgs []jetstream.Msg
	for msg := range first.Messages() {
		msgs = append(msgs, msg)
	}
	if len(msgs) == 0 {
		if err := first.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && ctx.Err() == nil {
			return nil, err
		}
		return nil, nil // the wait ended with nothing to do
	}
	if max == 1 {
		return msgs, nil
	}
	rest, err := cons.FetchNoWait(max - 1)
	if err != nil {
		return msgs, nil // the first is in hand: handle it, and fetch the rest next time
	}
	for msg := range rest.Messages() {
		msgs = append(msgs, msg)
	}
	return msgs, nil
}
