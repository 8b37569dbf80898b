package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/events"
	"github.com/lattice-platform/lattice/pkg/events/schema"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/pkg/ports/portstest"
	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/app/fake"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

// inTx marks the context a markingTransactor runs its function with.
type inTx struct{}

// markingTransactor is a transactor whose transactions can be seen in
// the context, as a database transaction is bound to it.
type markingTransactor struct{}

func (markingTransactor) InTx(ctx context.Context, fn func(context.Context) error) error {
	return fn(context.WithValue(ctx, inTx{}, true))
}

// sessionsOutsideTx fails the test when the session store (Redis in
// production) is written while a transaction of the auth database is open.
type sessionsOutsideTx struct {
	app.SessionStore
	t      *testing.T
	writes atomic.Int32
}

func (s *sessionsOutsideTx) check(ctx context.Context) {
	s.writes.Add(1)
	if ctx.Value(inTx{}) != nil {
		s.t.Error("the session store is written inside a database transaction")
	}
}

func (s *sessionsOutsideTx) Create(ctx context.Context, sess domain.Session) error {
	s.check(ctx)
	return s.SessionStore.Create(ctx, sess)
}

func (s *sessionsOutsideTx) Delete(ctx context.Context, userID, id string) error {
	s.check(ctx)
	return s.SessionStore.Delete(ctx, userID, id)
}

// TestSessionWritesHoldNoTransaction: a login, a revocation and a logout
// write Redis with no database connection held, so logins waiting on a
// stopped Redis cannot queue the others behind the database's pool.
func TestSessionWritesHoldNoTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sessions := &sessionsOutsideTx{SessionStore: fake.NewSessionStore(), t: t}
	svc, _, outbox := setupEditing(t, app.Options{Issuer: issuer, SessionTTL: time.Hour}, func(d *app.Deps) {
		d.Sessions, d.Tx = sessions, markingTransactor{}
	})
	signUp(t, svc, "ada@example.com")
	before := len(outbox.Events())

	first, err := svc.Login(ctx, app.LoginInput{Email: "ada@example.com", Password: pw, IP: "10.0.0.1"})
	require.NoError(t, err)
	second, err := svc.Login(ctx, app.LoginInput{Email: "ada@example.com", Password: pw, IP: "10.0.0.1"})
	require.NoError(t, err)
	p, err := svc.Authenticate(ctx, first.Token)
	require.NoError(t, err)
	require.NoError(t, svc.RevokeSession(ctx, p, second.Session.ID))
	require.NoError(t, svc.Logout(ctx, p))

	require.Equal(t, int32(4), sessions.writes.Load(), "two creates and two deletes")
	var actions []string
	for _, e := range outbox.Events()[before:] {
		env, err := events.Decode(e.Payload)
		require.NoError(t, err)
		var r schema.AuditRecord
		require.NoError(t, json.Unmarshal(env.Data, &r))
		actions = append(actions, r.Action)
	}
	require.Equal(t, []string{"login.succeeded", "login.succeeded", "session.revoked", "session.revoked"}, actions,
		"each write still has its audit record")
}

// breakableOutbox is an outbox that refuses every event once broken, as
// the auth database does when it goes down.
type breakableOutbox struct {
	*portstest.Outbox
	broken atomic.Bool
}

func (o *breakableOutbox) Add(ctx context.Context, evs ...ports.Event) error {
	if o.broken.Load() {
		return errors.New("the auth database is unreachable")
	}
	return o.Outbox.Add(ctx, evs...)
}

// TestALoginWhoseRecordFailsLeavesNoSession: the session written before
// its audit record is removed again when the record cannot be written, so
// the failed login leaves no session and hands out no token.
func TestALoginWhoseRecordFailsLeavesNoSession(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := fake.NewSessionStore()
	outbox := &breakableOutbox{Outbox: portstest.NewOutbox()}
	svc, _, _ := setupEditing(t, app.Options{Issuer: issuer, SessionTTL: time.Hour}, func(d *app.Deps) {
		d.Sessions, d.Outbox = store, outbox
	})
	u := signUp(t, svc, "ada@example.com")

	outbox.broken.Store(true)
	ns, err := svc.Login(ctx, app.LoginInput{Email: "ada@example.com", Password: pw, IP: "10.0.0.1"})
	require.Error(t, err)
	require.Empty(t, ns.Token)
	left, err := store.ListByUser(ctx, u.ID, time.Now())
	require.NoError(t, err)
	require.Empty(t, left, "the session of the failed login was removed")

	outbox.broken.Store(false)
	ns, err = svc.Login(ctx, app.LoginInput{Email: "ada@example.com", Password: pw, IP: "10.0.0.1"})
	require.NoError(t, err)
	_, err = svc.Authenticate(ctx, ns.Token)
	require.NoError(t, err)
}
