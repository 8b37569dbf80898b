package natsjs

import (
	"context"
	"time"

	"github.com/lattice-platform/lattice/pkg/events"
	"github.com/lattice-platform/lattice/pkg/events/schema"
	"github.com/lattice-platform/lattice/pkg/ports"
)

// AuditTrail publishes audit.recorded events straight to the AUDIT stream
// (subject audit.<service>) and returns only once JetStream has stored
// them.
type AuditTrail struct {
	pub    ports.EventPublisher
	source string
	now    func() time.Time
}

var _ ports.AuditTrail = (*AuditTrail)(nil)

// NewAuditTrail returns a trail for service (e.g. "processing").
func NewAuditTrail(pub ports.EventPublisher, service string) *AuditTrail {
	return &AuditTrail{pub: pub, source: "lattice/" + service, now: time.Now}
}

// Record publishes one event.
func (a *AuditTrail) Record(ctx context.Context, e ports.AuditEntry) error {
	rec := schema.AuditRecord{Actor: e.Actor, Action: e.Action, Target: e.Target}
	if e.Details != nil {
		rec.Details = &e.Details
	}
	env, err := events.NewAudit(a.source, a.now(), rec)
	if err != nil {
		return err
	}
	return a.pub.PublishBatch(ctx, []ports.Event{env})[0]
}
