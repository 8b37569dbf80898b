package ports

import "context"

// Transactor runs a unit of work in one store transaction. Repositories of
// the same store called with the ctx handed to fn join the transaction, so
// a change and the events that report it commit or fail together.
type Transactor interface {
	// InTx calls fn inside a transaction and commits when it returns nil;
	// an error from fn rolls back and is returned as is. Called within a
	// transaction already, it joins it.
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// EventOutbox stores events for the outbox relay to publish. Within
// Transactor.InTx, they commit with the change they report.
type EventOutbox interface {
	Add(ctx context.Context, events ...Event) error
}

// AuditEntry is one security-relevant action, for the audit log.
type AuditEntry struct {
	Actor, Action, Target string
	Details               map[string]any
}

// AuditTrail records audit events for services whose changes do not live
// in a transactional store of their own (processing's jobs are in
// JetStream; search's rebuild changes no stored data). Callers record
// before acting and refuse the action when recording fails, so no admin
// action goes unrecorded.
type AuditTrail interface {
	Record(ctx context.Context, e AuditEntry) error
}
