// Package natsjs implements Lattice's event-bus ports on NATS JetStream
// (nats.go's jetstream API): streams are created on start, and events are
// published with Nats-Msg-Id set to the event id so that JetStream drops
// duplicates within the stream's duplicate window. It also holds what every
// JetStream adapter shares (connecting, the embedded server, the work
// queue, the chunk object store, consumer lag) and imports no service: a
// service's own stores on JetStream are packages beneath it (jobstore,
// chunksink, checkpointsink).
package natsjs

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/ports"
)

// EventsStream is the stream of domain events (events.>), which search,
// processing and resource consume.
const EventsStream = "EVENTS"

// Account is the NATS account Lattice's users are in. The server's
// authorization (lattice nats authorization) lists users without
// accounts, so they are in the server's global account; its monitoring
// endpoint (KEDA's scaler reads consumer lag there) names it so.
const Account = "$G"

// Streams Lattice uses (DESIGN.md, "Events"). Each is created on start if
// missing; existing ones are left as they are.
var Streams = []jetstream.StreamConfig{
	{Name: EventsStream, Subjects: []string{"events.>"}, Storage: jetstream.FileStorage, Duplicates: 10 * time.Minute},
	// Poison messages: events a consumer gave up on, kept for inspection
	// and replay.
	{Name: "DLQ", Subjects: []string{"dlq.>"}, Storage: jetstream.FileStorage, MaxAge: 30 * 24 * time.Hour},
	// Gateway access records: high volume, kept a week for analytics to consume.
	{Name: "USAGE", Subjects: []string{"usage.>"}, Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute, MaxAge: 7 * 24 * time.Hour},
	// Security-relevant actions, for the audit log.
	{Name: "AUDIT", Subjects: []string{"audit.>"}, Storage: jetstream.FileStorage, Duplicates: 10 * time.Minute},
}

// AsyncAckTimeout is how long the connection keeps waiting for the ack of
// an asynchronous publish. Without it, an ack that never comes (the stream
// lost its leader after taking the message, say) stays pending for the
// connection's life; once MaxAsyncPending of them pile up, every publish
// stalls and the outboxes stop for good. No Publisher waits longer.
const AsyncAckTimeout = 10 * time.Second

// MaxAsyncPending bounds the asynchronous publishes awaiting an ack.
const MaxAsyncPending = 4096

// Connect dials url (with opts, such as nats.Secure for a tls:// server)
// and returns a JetStream context. Reconnects are
// unlimited: a broker restart delays publishing, it does not end it.
func Connect(url, name string, opts ...nats.Option) (*nats.Conn, jetstream.JetStream, error) {
	nc, err := nats.Connect(url, append([]nats.Option{nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond)}, opts...)...)
	if err != nil {
		return nil, nil, fmt.Errorf("nats: connect: %w", err)
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(MaxAsyncPending), jetstream.WithPublishAsyncTimeout(AsyncAckTimeout))
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("nats: jetstream: %w", err)
	}
	return nc, js, nil
}

// EnsureStreams creates the streams that do not exist yet.
func EnsureStreams(ctx context.Context, js jetstream.JetStream) error {
	for _, cfg := range Streams {
		_, err := js.Stream(ctx, cfg.Name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			_, err = js.CreateStream(ctx, cfg)
		}
		if err != nil {
			return fmt.Errorf("nats: stream %s: %w", cfg.Name, err)
		}
	}
	return nil
}

// Publisher is the JetStream ports.EventPublisher.
type Publisher struct {
	js      jetstream.JetStream
	timeout time.Duration
}

var _ ports.EventPublisher = (*Publisher)(nil)

// NewPublisher returns a publisher that waits up to timeout (at most
// AsyncAckTimeout) for acks.
func NewPublisher(js jetstream.JetStream, timeout time.Duration) *Publisher {
	return &Publisher{js: js, timeout: min(timeout, AsyncAckTimeout)}
}

// PublishBatch sends every event asynchronously and then waits for the
// acks, so a batch costs one round trip rather than one per event.
func (p *Publisher) PublishBatch(ctx context.Context, events []ports.Event) []error {
	errs := make([]error, len(events))
	futures := make([]jetstream.PubAckFuture, len(events))
	spans := make([]trace.Span, len(events))
	defer func() {
		for i, span := range spans {
			end(span, errs[i])
		}
	}()
	for i, e := range events {
		msg := nats.NewMsg(e.Subject)
		msg.Data = e.Payload
		msg.Header.Set("Content-Type", "application/cloudevents+json")
		spans[i] = startPublish(ctx, msg, e.ID, e.TraceParent, e.TraceState)
		f, err := p.js.PublishMsgAsync(msg, jetstream.WithMsgID(e.ID))
		if err != nil {
			errs[i] = Unavailable(err)
			continue
		}
		futures[i] = f
	}
	deadline := time.NewTimer(p.timeout)
	defer deadline.Stop()
	for i, f := range futures {
		if f == nil {
			continue
		}
		select {
		case <-f.Ok():
		case err := <-f.Err():
			errs[i] = Unavailable(err)
		case <-deadline.C:
			// Outcome unknown: the message may still be stored, and its id
			// makes a retry harmless.
			for j := i; j < len(futures); j++ {
				if futures[j] != nil && errs[j] == nil {
					errs[j] = Unavailable(errors.New("no acknowledgement in time"))
				}
			}
			return errs
		case <-ctx.Done():
			for j := i; j < len(futures); j++ {
				if futures[j] != nil && errs[j] == nil {
					errs[j] = Unavailable(ctx.Err())
				}
			}
			return errs
		}
	}
	return errs
}

// Unavailable is a JetStream failure as the fault taxonomy sees it: the
// bus did not confirm, so the caller may retry. The stores beneath this
// package (jobstore, chunksink, checkpointsink) translate with it too.
func Unavailable(err error) error {
	return fault.Wrap(fault.Unavailable, "the event bus did not confirm the event", err)
}

// RegisterLag exports, read from the server at each scrape, a durable
// consumer's lag as lattice_consumer_pending (waiting plus delivered but not
// acknowledged: the figure autoscalers such as KEDA scale workers on) and
// its redeliveries as lattice_consumer_redelivered (messages delivered more
// than once and not yet acknowledged: handlers failing or too slow).
func RegisterLag(reg prometheus.Registerer, js jetstream.JetStream, stream, durable string) error {
	labels := prometheus.Labels{"stream": stream, "consumer": durable}
	return reg.Register(&consumerCollector{js: js, stream: stream, durable: durable,
		pending: prometheus.NewDesc("lattice_consumer_pending", "Messages a JetStream consumer has not yet acknowledged (its lag).", nil, labels),
		redelivered: prometheus.NewDesc("lattice_consumer_redelivered",
			"Messages a JetStream consumer has delivered more than once and not yet acknowledged.", nil, labels)})
}

type consumerCollector struct {
	js                   jetstream.JetStream
	stream, durable      string
	pending, redelivered *prometheus.Desc
}

func (c *consumerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.pending
	ch <- c.redelivered
}

func (c *consumerCollector) Collect(ch chan<- prometheus.Metric) {
	pending, redelivered := math.NaN(), math.NaN()
	if info, err := consumerInfo(context.Background(), c.js, c.stream, c.durable); err == nil {
		pending = float64(info.NumPending + uint64(info.NumAckPending))
		redelivered = float64(info.NumRedelivered)
	}
	ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, pending)
	ch <- prometheus.MustNewConstMetric(c.redelivered, prometheus.GaugeValue, redelivered)
}

// RegisterStreamSize exports how many messages a stream holds as
// lattice_stream_messages{stream}: for DLQ, the poison messages parked and
// not yet dealt with, which an alert watches grow. It is read from the
// server at each scrape.
func RegisterStreamSize(reg prometheus.Registerer, js jetstream.JetStream, stream string) error {
	return reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "lattice_stream_messages",
		Help:        "Messages a JetStream stream holds (for DLQ: parked poison messages).",
		ConstLabels: prometheus.Labels{"stream": stream},
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		s, err := js.Stream(ctx, stream)
		if err != nil {
			return math.NaN()
		}
		info, err := s.Info(ctx)
		if err != nil {
			return math.NaN()
		}
		return float64(info.State.Msgs)
	}))
}

// ConsumerPending is a durable consumer's lag: messages waiting plus those
// delivered but not yet acknowledged.
func ConsumerPending(ctx context.Context, js jetstream.JetStream, stream, durable string) (uint64, error) {
	info, err := consumerInfo(ctx, js, stream, durable)
	if err != nil {
		return 0, err
	}
	return info.NumPending + uint64(info.NumAckPending), nil
}

func consumerInfo(ctx context.Context, js jetstream.JetStream, stream, durable string) (*jetstream.ConsumerInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	cons, err := js.Consumer(ctx, stream, durable)
	if err != nil {
		return nil, err
	}
	return cons.Info(ctx)
}

// Ping checks that the JetStream server answers.
func Ping(js jetstream.JetStream) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := js.AccountInfo(ctx)
		return err
	}
}
