package app

import (
	"time"

	"github.com/lattice-platform/lattice/pkg/events"
	"github.com/lattice-platform/lattice/pkg/events/schema"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/resource/domain"
)

// AuditSubject is where the resource service's audit events go (stream
// AUDIT); they travel through the same outbox as its other events, in the
// same transaction as the change, so none is lost.
const AuditSubject = "audit.resource"

// withAudit appends the audit event of a change to its domain events. An
// admin acting on someone else's resource is marked as such.
func withAudit(evs []ports.Event, c domain.Caller, action, target, owner string, at time.Time, details map[string]any) ([]ports.Event, error) {
	actor := c.Subject
	if actor == "" {
		actor = "anonymous"
	}
	if c.Admin() && owner != c.Subject {
		if details == nil {
			details = map[string]any{}
		}
		details["admin"] = true
		details["owner"] = owner
	}
	rec := schema.AuditRecord{Actor: actor, Action: action, Target: target}
	if details != nil {
		rec.Details = &details
	}
	env, err := events.NewAudit(Source, at, rec)
	if err != nil {
		return nil, err
	}
	return append(evs, env), nil
}
