package porttest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/services/analytics/app"
	"github.com/lattice-platform/lattice/services/analytics/domain"
)

// AuditEvents makes n distinct events by actor, in order.
func AuditEvents(n int, actor string) []domain.AuditEvent {
	out := make([]domain.AuditEvent, n)
	at := now()
	for i := range out {
		id := newID()
		out[i] = domain.AuditEvent{ID: id, Time: at.Add(time.Duration(i) * time.Second), Actor: actor, Action: "resource.update",
			Target: fmt.Sprintf("resource/%d", i%3), Canonical: []byte(fmt.Sprintf(`{"actor":%q,"id":%q,"n":%d}`, actor, id, i))}
	}
	return out
}

// AuditLog checks a app.AuditLog: chaining, idempotent appends,
// concurrent writers, ranges, checkpoints and filtered listing.
func AuditLog(t *testing.T, newLog func(t *testing.T) app.AuditLog) {
	ctx := context.Background()

	t.Run("appends chain and verify", func(t *testing.T) {
		t.Parallel()
		l := newLog(t)
		h, err := l.Head(ctx)
		require.NoError(t, err)
		require.Zero(t, h.Seq)
		events := AuditEvents(7, "alice")
		n, head, err := l.Append(ctx, events[:4])
		require.NoError(t, err)
		require.Equal(t, 4, n)
		require.EqualValues(t, 4, head.Seq)
		n, head, err = l.Append(ctx, events) // the first four again: skipped
		require.NoError(t, err)
		require.Equal(t, 3, n)
		require.EqualValues(t, 7, head.Seq)

		pub, key, err := ed25519.GenerateKey(rand.Reader)
		require.NoError(t, err)
		cp := domain.SignCheckpoint(head, now(), "k1", key)
		require.NoError(t, l.AddCheckpoint(ctx, cp))
		require.NoError(t, l.AddCheckpoint(ctx, cp))

		prev, entries, err := l.Entries(ctx, 1, 7)
		require.NoError(t, err)
		require.Equal(t, domain.Genesis, prev)
		require.Len(t, entries, 7)
		require.Equal(t, events[5].Canonical, entries[5].Canonical)
		cps, err := l.Checkpoints(ctx, 1, 7)
		require.NoError(t, err)
		require.Len(t, cps, 1)
		require.Equal(t, cp.Hash, cps[0].Hash)
		require.True(t, cps[0].At.Equal(cp.At))
		keys := map[string]ed25519.PublicKey{"k1": pub}
		require.Nil(t, domain.Verify(prev, 1, entries, cps, keys))
		prev, part, err := l.Entries(ctx, 3, 5)
		require.NoError(t, err)
		require.Equal(t, entries[1].Hash, prev)
		require.Nil(t, domain.Verify(prev, 3, part, nil, keys))
	})

	t.Run("concurrent appends form one chain", func(t *testing.T) {
		t.Parallel()
		l := newLog(t)
		var wg sync.WaitGroup
		for w := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, e := range AuditEvents(5, fmt.Sprintf("writer-%d", w)) {
					_, _, err := l.Append(ctx, []domain.AuditEvent{e})
					require.NoError(t, err)
				}
			}()
		}
		wg.Wait()
		prev, entries, err := l.Entries(ctx, 1, 100)
		require.NoError(t, err)
		require.Len(t, entries, 30)
		require.Nil(t, domain.Verify(prev, 1, entries, nil, nil))
	})

	t.Run("list filters and pages", func(t *testing.T) {
		t.Parallel()
		l := newLog(t)
		a, b := AuditEvents(5, "alice"), AuditEvents(5, "bob")
		_, _, err := l.Append(ctx, append(a, b...))
		require.NoError(t, err)
		got, err := l.List(ctx, app.AuditFilter{Actor: "bob"}, 0, 3)
		require.NoError(t, err)
		require.Len(t, got, 3)
		require.Equal(t, b[0].ID, got[0].ID)
		more, err := l.List(ctx, app.AuditFilter{Actor: "bob"}, got[2].Seq, 10)
		require.NoError(t, err)
		require.Len(t, more, 2)
		target, err := l.List(ctx, app.AuditFilter{Target: "resource/1"}, 0, 10)
		require.NoError(t, err)
		require.Len(t, target, 4)
		window, err := l.List(ctx, app.AuditFilter{Since: a[1].Time, Until: a[3].Time}, 0, 10)
		require.NoError(t, err)
		require.Len(t, window, 4, "a[1], a[2] and b[1], b[2]: since is inclusive, until exclusive")
	})
}

// AuditTamper is one way an intruder with database access changes a log
// of ten entries checkpointed at its head: statements run directly on the
// store, and the first entry verification must then name.
type AuditTamper struct {
	Statements []string
	At         int64
}

// AuditTampering checks that verification catches each tampering: exec
// runs one statement on the store behind newLog's log.
func AuditTampering(t *testing.T, cases map[string]AuditTamper, newLog func(t *testing.T) (app.AuditLog, func(ctx context.Context, stmt string) error)) {
	ctx := context.Background()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	keys := map[string]ed25519.PublicKey{"k1": pub}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l, exec := newLog(t)
			_, head, err := l.Append(ctx, AuditEvents(10, "alice"))
			require.NoError(t, err)
			require.NoError(t, l.AddCheckpoint(ctx, domain.SignCheckpoint(head, now(), "k1", key)))
			prev, entries, err := l.Entries(ctx, 1, 10)
			require.NoError(t, err)
			require.Nil(t, domain.Verify(prev, 1, entries, nil, keys), "intact before tampering")
			for _, stmt := range c.Statements {
				require.NoError(t, exec(ctx, stmt), stmt)
			}
			prev, entries, err = l.Entries(ctx, 1, 10)
			require.NoError(t, err)
			cps, err := l.Checkpoints(ctx, 1, 10)
			require.NoError(t, err)
			brk := domain.Verify(prev, 1, entries, cps, keys)
			require.NotNil(t, brk, "tampering went unnoticed")
			require.Equal(t, c.At, brk.Seq, brk.Reason)
		})
	}
}

// CheckpointSink checks a app.CheckpointSink; newSink returns an empty
// one.
func CheckpointSink(t *testing.T, newSink func(t *testing.T) app.CheckpointSink) {
	ctx := context.Background()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	t.Run("keeps what it is given, once, in order, by range", func(t *testing.T) {
		t.Parallel()
		s := newSink(t)
		ts := now()
		var all []domain.Checkpoint
		for i := range 5 {
			head := domain.AuditEntry{Seq: int64(10 * (i + 1)), Hash: domain.ChainHash(domain.Hash{}, []byte{byte(i)})}
			cp := domain.SignCheckpoint(head, ts.Add(time.Duration(i)*time.Minute), "k1", key)
			require.NoError(t, s.Export(ctx, cp))
			require.NoError(t, s.Export(ctx, cp), "a repeat is kept once")
			all = append(all, cp)
		}
		got, err := s.Exported(ctx, 1, 1000)
		require.NoError(t, err)
		require.Equal(t, all, got)
		got, err = s.Exported(ctx, 20, 40)
		require.NoError(t, err)
		require.Equal(t, all[1:4], got)
		got, err = s.Exported(ctx, 51, 60)
		require.NoError(t, err)
		require.Empty(t, got)
	})
	t.Run("an empty sink has nothing", func(t *testing.T) {
		t.Parallel()
		got, err := newSink(t).Exported(ctx, 1, 100)
		require.NoError(t, err)
		require.Empty(t, got)
	})
}
