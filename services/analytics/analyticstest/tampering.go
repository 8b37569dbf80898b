package analyticstest

// The audit log's trust-anchor tamper scenarios, against a real store and a
// real checkpoint sink: an intruder who can write the analytics database
// rewrites rows and re-signs them with a key of their own, deletes the
// checkpoints after an edit, or replaces the stored key. Each must be
// caught by verification, whose keys are pinned in configuration and whose
// checkpoints are also exported outside the database. The PostgreSQL and
// ClickHouse adapter tests run them.

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	"github.com/lattice-platform/lattice/pkg/adapters/natsjs/checkpointsink"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/services/analytics/app"
	"github.com/lattice-platform/lattice/services/analytics/app/porttest"
	"github.com/lattice-platform/lattice/services/analytics/domain"
)

// NATSSink is a JetStream checkpoint sink on a fresh embedded server.
func NATSSink(t *testing.T) app.CheckpointSink {
	nc, js, err := natsjs.Connect(testinfra.NATS(t), "analyticstest")
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	s, err := checkpointsink.New(context.Background(), js)
	require.NoError(t, err)
	return s
}

// Store is a store under test and what an intruder can do to it with SQL.
type Store struct {
	Log  app.AuditLog
	Keys app.AuditKeyStore
	// Exec runs one statement on the store behind the adapter's back.
	Exec func(ctx context.Context, stmt string) error
	// RewriteEntry sets an entry's canonical JSON and hash.
	RewriteEntry func(seq int64, canonical []byte, hash domain.Hash) string
	// DeleteCheckpoints and DeleteKeys remove every stored checkpoint, and
	// every stored key.
	DeleteCheckpoints, DeleteKeys string
}

// clock is a test clock that moves a minute at each call, the signing
// cadence, so checkpoints come at the expected pace.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time { c.t = c.t.Add(time.Minute); return c.t }

// Tampering runs the scenarios; newStore and newSink give a fresh store
// and sink per scenario.
func Tampering(t *testing.T, newStore func(t *testing.T) Store, newSink func(t *testing.T) app.CheckpointSink) {
	ctx := context.Background()
	seed := make([]byte, ed25519.SeedSize)
	_, _ = rand.Read(seed)
	keyID, key, pinned, err := app.AuditKeys(seed, nil)
	require.NoError(t, err)
	intruderPub, intruderKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	intruderID := domain.KeyID(intruderPub)
	auditor := domain.Caller{Subject: "root", Scopes: []string{domain.ScopeAudit}}

	// setup builds a service over a log of ten entries, checkpointed at its
	// head (in the store and in the sink), and returns it verified intact.
	setup := func(t *testing.T) (*app.Service, Store, *clock) {
		st := newStore(t)
		clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
		svc := app.New(app.Deps{Audit: st.Log, SigningKey: key, KeyID: keyID, VerifyKeys: pinned, Sink: newSink(t),
			CheckpointEvery: time.Minute, Clock: clk})
		require.NoError(t, st.Keys.AddAuditKey(ctx, domain.AuditKey{ID: keyID, Public: pinned[keyID]}))
		_, _, err := st.Log.Append(ctx, porttest.AuditEvents(10, "alice"))
		require.NoError(t, err)
		_, err = svc.Checkpoint(ctx)
		require.NoError(t, err)
		v, err := svc.VerifyAudit(ctx, auditor, 1, 0)
		require.NoError(t, err)
		require.Nil(t, v.Broken, "intact before tampering")
		require.Equal(t, 1, v.Exported)
		return svc, st, clk
	}
	// rewrite changes entry 4 and re-chains 4..10, so the stored chain is
	// consistent again: only signatures can tell.
	rewrite := func(t *testing.T, st Store) domain.AuditEntry {
		prev, entries, err := st.Log.Entries(ctx, 1, 10)
		require.NoError(t, err)
		for i, e := range entries {
			if e.Seq == 4 {
				e.Canonical = []byte(`{"actor":"mallory","action":"nothing.happened"}`)
			}
			if e.Seq >= 4 {
				e.Hash = domain.ChainHash(prev, e.Canonical)
				require.NoError(t, st.Exec(ctx, st.RewriteEntry(e.Seq, e.Canonical, e.Hash)))
			}
			entries[i], prev = e, e.Hash
		}
		return entries[len(entries)-1]
	}
	broken := func(t *testing.T, svc *app.Service) *domain.Break {
		v, err := svc.VerifyAudit(ctx, auditor, 1, 0)
		require.NoError(t, err)
		require.NotNil(t, v.Broken, "the tampering went unnoticed")
		return v.Broken
	}

	t.Run("rows rewritten and re-signed with a key put in the database", func(t *testing.T) {
		t.Parallel()
		svc, st, _ := setup(t)
		head := rewrite(t, st)
		require.NoError(t, st.Keys.AddAuditKey(ctx, domain.AuditKey{ID: intruderID, Public: intruderPub, Private: intruderKey}))
		require.NoError(t, st.Exec(ctx, st.DeleteCheckpoints))
		require.NoError(t, st.Log.AddCheckpoint(ctx, domain.SignCheckpoint(head, time.Now(), intruderID, intruderKey)))
		b := broken(t, svc)
		require.Equal(t, int64(10), b.Seq, b.Reason)
	})
	t.Run("checkpoints deleted after an edit", func(t *testing.T) {
		t.Parallel()
		svc, st, _ := setup(t)
		rewrite(t, st)
		require.NoError(t, st.Exec(ctx, st.DeleteCheckpoints))
		b := broken(t, svc)
		require.Equal(t, int64(10), b.Seq, "the exported checkpoint does not match: %s", b.Reason)
	})
	t.Run("the stored key replaced", func(t *testing.T) {
		t.Parallel()
		svc, st, _ := setup(t)
		require.NoError(t, st.Exec(ctx, st.DeleteKeys))
		require.NoError(t, st.Keys.AddAuditKey(ctx, domain.AuditKey{ID: intruderID, Public: intruderPub, Private: intruderKey}))
		// The service keeps signing with its configured key...
		_, _, err := st.Log.Append(ctx, porttest.AuditEvents(2, "bob"))
		require.NoError(t, err)
		cp, err := svc.Checkpoint(ctx)
		require.NoError(t, err)
		require.Equal(t, keyID, cp.KeyID)
		v, err := svc.VerifyAudit(ctx, auditor, 1, 0)
		require.NoError(t, err)
		require.Nil(t, v.Broken, "the replaced key changes nothing the service signs")
		// ...and what the intruder signs with the key they stored is not
		// believed.
		_, entries, err := st.Log.Entries(ctx, 11, 11)
		require.NoError(t, err)
		require.NoError(t, st.Log.AddCheckpoint(ctx, domain.SignCheckpoint(entries[0], time.Now().Add(time.Hour), intruderID, intruderKey)))
		b := broken(t, svc)
		require.Equal(t, int64(11), b.Seq, b.Reason)
	})
	t.Run("a gap in the checkpoint cadence is reported", func(t *testing.T) {
		t.Parallel()
		svc, st, clk := setup(t)
		for range 2 { // on time: a minute apart
			_, err := svc.Checkpoint(ctx)
			require.NoError(t, err)
		}
		v, err := svc.VerifyAudit(ctx, auditor, 1, 0)
		require.NoError(t, err)
		require.Empty(t, v.Gaps, "checkpoints a minute apart leave no gap")
		clk.t = clk.t.Add(time.Hour) // an hour with no checkpoint
		_, _, err = st.Log.Append(ctx, porttest.AuditEvents(1, "carol"))
		require.NoError(t, err)
		_, err = svc.Checkpoint(ctx)
		require.NoError(t, err)
		v, err = svc.VerifyAudit(ctx, auditor, 1, 0)
		require.NoError(t, err)
		require.Nil(t, v.Broken, "a gap is reported, not a break")
		require.Len(t, v.Gaps, 1)
		require.Equal(t, int64(10), v.Gaps[0].AfterSeq)
		require.Equal(t, int64(11), v.Gaps[0].BeforeSeq)
	})
}
