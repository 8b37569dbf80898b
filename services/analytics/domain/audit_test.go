package domain_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/services/analytics/domain"
)

func chain(n int) []domain.AuditEntry {
	var out []domain.AuditEntry
	prev := domain.AuditEntry{}
	for i := 1; i <= n; i++ {
		prev = domain.Append(prev, []byte(fmt.Sprintf(`{"action":"resource.update","actor":"u%d","seq":%d}`, i%3, i)))
		out = append(out, prev)
	}
	return out
}

func TestVerifyDetectsEveryKindOfTampering(t *testing.T) {
	t.Parallel()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	keys := map[string]ed25519.PublicKey{"k1": pub}
	entries := chain(10)
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	cps := []domain.Checkpoint{domain.SignCheckpoint(entries[4], at, "k1", key), domain.SignCheckpoint(entries[9], at.Add(time.Minute), "k1", key)}
	require.Nil(t, domain.Verify(domain.Genesis, 1, entries, cps, keys))
	// A sub-range verifies from the hash before it.
	require.Nil(t, domain.Verify(entries[3].Hash, 5, entries[4:8], cps[:1], keys))

	clone := func() []domain.AuditEntry {
		out := make([]domain.AuditEntry, len(entries))
		copy(out, entries)
		return out
	}
	cases := map[string]struct {
		tamper func([]domain.AuditEntry) []domain.AuditEntry
		at     int64
	}{
		"altered row": {func(e []domain.AuditEntry) []domain.AuditEntry {
			e[3].Canonical = []byte(`{"action":"resource.update","actor":"mallory","seq":4}`)
			return e
		}, 4},
		"altered row with its hash recomputed": {func(e []domain.AuditEntry) []domain.AuditEntry {
			e[3].Canonical = []byte(`{"action":"nothing"}`)
			e[3].Hash = domain.ChainHash(e[2].Hash, e[3].Canonical)
			return e
		}, 5},
		"deleted row": {func(e []domain.AuditEntry) []domain.AuditEntry { return append(e[:6], e[7:]...) }, 7},
		"deleted row, renumbered": {func(e []domain.AuditEntry) []domain.AuditEntry {
			e = append(e[:6], e[7:]...)
			for i := 6; i < len(e); i++ {
				e[i].Seq--
			}
			return e
		}, 7},
		"inserted row": {func(e []domain.AuditEntry) []domain.AuditEntry {
			forged := domain.Append(e[1], []byte(`{"forged":true}`))
			return append(e[:2], append([]domain.AuditEntry{forged}, e[2:]...)...)
		}, 3},
		"reordered rows": {func(e []domain.AuditEntry) []domain.AuditEntry {
			e[4], e[5] = e[5], e[4]
			return e
		}, 5},
		"reordered rows, renumbered": {func(e []domain.AuditEntry) []domain.AuditEntry {
			e[4], e[5] = e[5], e[4]
			e[4].Seq, e[5].Seq = 5, 6
			return e
		}, 5},
		"truncated tail": {func(e []domain.AuditEntry) []domain.AuditEntry { return e[:8] }, 10},
	}
	for name, c := range cases {
		brk := domain.Verify(domain.Genesis, 1, c.tamper(clone()), cps, keys)
		require.NotNil(t, brk, name)
		require.Equal(t, c.at, brk.Seq, "%s: %s", name, brk.Reason)
	}

	forged := cps[1]
	forged.Hash = entries[8].Hash
	brk := domain.Verify(domain.Genesis, 1, entries, []domain.Checkpoint{forged}, keys)
	require.NotNil(t, brk)
	require.Contains(t, brk.Reason, "signature")
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	brk = domain.Verify(domain.Genesis, 1, entries, cps, map[string]ed25519.PublicKey{"k1": other})
	require.NotNil(t, brk)
}

func TestCadenceGaps(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	cp := func(seq int64, minutes int) domain.Checkpoint {
		return domain.Checkpoint{Seq: seq, At: t0.Add(time.Duration(minutes) * time.Minute)}
	}
	cps := []domain.Checkpoint{cp(1, 0), cp(3, 1), cp(3, 2), cp(9, 10), cp(9, 11)}
	require.Equal(t, []domain.Gap{{AfterSeq: 3, BeforeSeq: 9, After: t0.Add(2 * time.Minute), Before: t0.Add(10 * time.Minute)}},
		domain.CadenceGaps(cps, time.Minute))
	require.Empty(t, domain.CadenceGaps(cps, 5*time.Minute))
	require.Empty(t, domain.CadenceGaps(nil, time.Minute))
}
