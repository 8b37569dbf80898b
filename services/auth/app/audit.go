package app

import (
	"context"

	"github.com/lattice-platform/lattice/pkg/events"
	"github.com/lattice-platform/lattice/pkg/events/schema"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

// Where the auth service's audit events go (stream AUDIT), and who it says
// they come from.
const (
	AuditSubject = "audit.auth"
	Source       = "lattice/auth"
)

// Actors for changes no caller asked for.
const (
	actorSystem    = "system"    // the service itself: scheduled key rotation, start-up provisioning
	actorOperator  = "operator"  // the operator's CLI
	actorAnonymous = "anonymous" // a caller not signed in, e.g. a failed login
)

// audit is one audit event about to be recorded.
type audit struct {
	actor, action, target string
	details               map[string]any
}

// actorOf names who acts with a credential: the user, or the client of a
// client_credentials token.
func actorOf(p domain.Principal) string {
	if p.UserID != "" {
		return p.UserID
	}
	if p.ClientID != "" {
		return "client/" + p.ClientID
	}
	return actorAnonymous
}

// recorder writes audit events to the outbox in the transaction of the
// change they report; every aggregate records through it.
type recorder struct {
	tx      ports.Transactor
	outbox  ports.EventOutbox
	clock   ports.Clock
	written func() // wakes the relay; nil: none
}

func (s *recorder) auditEvent(a audit) (ports.Event, error) {
	rec := schema.AuditRecord{Actor: a.actor, Action: a.action, Target: a.target}
	if a.details != nil {
		rec.Details = &a.details
	}
	env, err := events.NewAudit(Source, s.clock.Now(), rec)
	if err != nil {
		return ports.Event{}, err
	}
	return env, nil
}

// audited runs change and writes its audit event to the outbox in one
// transaction of the auth database: the change is kept only with its
// record. A change in another store goes through auditedElsewhere.
func (s *recorder) audited(ctx context.Context, a audit, change func(ctx context.Context) error) error {
	return s.auditedAll(ctx, func(ctx context.Context) ([]audit, error) {
		if change != nil {
			if err := change(ctx); err != nil {
				return nil, err
			}
		}
		return []audit{a}, nil
	})
}

// auditedAll is audited for a change that decides what it records.
func (s *recorder) auditedAll(ctx context.Context, change func(ctx context.Context) ([]audit, error)) error {
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		as, err := change(ctx)
		if err != nil {
			return err
		}
		evs := make([]ports.Event, len(as))
		for i, a := range as {
			if evs[i], err = s.auditEvent(a); err != nil {
				return err
			}
		}
		return s.outbox.Add(ctx, evs...)
	})
	if err == nil && s.written != nil {
		s.written()
	}
	return err
}

// auditedElsewhere is audited for a change in another store (sessions in
// Redis). The change runs first, outside the transaction: inside it, every
// login waiting on a slow or stopped Redis would hold one of the auth
// database's few connections, and the logins queued behind them would
// outlast the gateway's deadline (504s instead of fast 503s). Its record
// follows at once in a transaction of its own; only a crash in between
// loses it. When the record cannot be written, undo (if any) reverts the
// change, so a login that fails leaves no session behind; should undo fail
// too, the session left is one whose token nobody was given.
func (s *recorder) auditedElsewhere(ctx context.Context, a audit, change, undo func(ctx context.Context) error) error {
	if err := change(ctx); err != nil {
		return err
	}
	err := s.audited(ctx, a, nil)
	if err != nil && undo != nil {
		_ = undo(context.WithoutCancel(ctx))
	}
	return err
}
