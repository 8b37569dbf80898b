package clickhouse

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/services/analytics/app"
	"github.com/lattice-platform/lattice/services/analytics/domain"
)

// AuditLog is the ClickHouse app.AuditLog. Appending reads the head and
// extends the chain from it, so appends are serialised within the process;
// with no transactions in ClickHouse, run one appending replica per store
// (the analytics audit consumer hands over one batch at a time).
type AuditLog struct {
	c  *Client
	mu sync.Mutex
}

var (
	_ app.AuditLog      = (*AuditLog)(nil)
	_ app.AuditKeyStore = (*AuditLog)(nil)
)

// NewAuditLog returns the log on c (migrated with schema.ClickHouse).
func NewAuditLog(c *Client) *AuditLog { return &AuditLog{c: c} }

type auditRow struct {
	Seq        int64  `json:"seq"`
	EventID    string `json:"event_id"`
	OccurredNS int64  `json:"occurred_ns"`
	Actor      string `json:"actor"`
	Action     string `json:"action"`
	Target     string `json:"target"`
	Canonical  string `json:"canonical"`
	Hash       string `json:"hash"`
}

func (r auditRow) entry() domain.AuditEntry {
	return domain.AuditEntry{Seq: r.Seq, Canonical: []byte(r.Canonical), Hash: hashOf(r.Hash)}
}

// Head is the last entry.
func (l *AuditLog) Head(ctx context.Context) (domain.AuditEntry, error) {
	var rows []auditRow
	if err := query(ctx, l.c, "SELECT seq, canonical, hash FROM audit_log ORDER BY seq DESC LIMIT 1", &rows); err != nil || len(rows) == 0 {
		return domain.AuditEntry{}, err
	}
	return rows[0].entry(), nil
}

// Append chains the events to the head; events already stored are skipped.
func (l *AuditLog) Append(ctx context.Context, events []domain.AuditEvent) (int, domain.AuditEntry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	last, err := l.Head(ctx)
	if err != nil || len(events) == 0 {
		return 0, last, err
	}
	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = e.ID
	}
	var stored []struct {
		ID string `json:"event_id"`
	}
	if err := query(ctx, l.c, "SELECT event_id FROM audit_log WHERE event_id IN ("+quoteList(ids)+")", &stored); err != nil {
		return 0, last, err
	}
	skip := make(map[string]bool, len(stored))
	for _, s := range stored {
		skip[s.ID] = true
	}
	var rows []auditRow
	next := last
	for _, e := range events {
		if skip[e.ID] {
			continue
		}
		skip[e.ID] = true
		// The column is a String that travels as JSON text: anything but
		// UTF-8 would be altered on the way and break its own hash.
		if !utf8.Valid(e.Canonical) {
			return 0, last, fmt.Errorf("clickhouse: audit event %s: canonical JSON is not UTF-8", e.ID)
		}
		next = domain.Append(next, e.Canonical)
		rows = append(rows, auditRow{Seq: next.Seq, EventID: e.ID, OccurredNS: e.Time.UnixNano(),
			Actor: e.Actor, Action: e.Action, Target: e.Target, Canonical: string(e.Canonical), Hash: next.Hash.String()})
	}
	if len(rows) == 0 {
		return 0, last, nil
	}
	if err := insert(ctx, l.c, "audit_log", rows); err != nil {
		return 0, last, err
	}
	return len(rows), next, nil
}

// Entries returns a range as stored.
func (l *AuditLog) Entries(ctx context.Context, from, to int64) (domain.Hash, []domain.AuditEntry, error) {
	prev := domain.Genesis
	if from > 1 {
		var rows []auditRow
		if err := query(ctx, l.c, "SELECT hash FROM audit_log WHERE seq = "+strconv.FormatInt(from-1, 10)+" LIMIT 1", &rows); err != nil {
			return prev, nil, err
		}
		if len(rows) == 0 {
			return prev, nil, fault.New(fault.NotFound, "the entry before the range is missing")
		}
		prev = hashOf(rows[0].Hash)
	}
	var rows []auditRow
	if err := query(ctx, l.c, "SELECT seq, canonical, hash FROM audit_log WHERE seq BETWEEN "+strconv.FormatInt(from, 10)+
		" AND "+strconv.FormatInt(to, 10)+" ORDER BY seq", &rows); err != nil {
		return prev, nil, err
	}
	out := make([]domain.AuditEntry, len(rows))
	for i, r := range rows {
		out[i] = r.entry()
	}
	return prev, out, nil
}

type checkpointRow struct {
	Seq       int64  `json:"seq"`
	Hash      string `json:"hash"`
	SignedNS  int64  `json:"signed_ns"`
	KeyID     string `json:"key_id"`
	Signature string `json:"signature"`
}

// AddCheckpoint stores a checkpoint; a second one for the same seq is a
// no-op.
func (l *AuditLog) AddCheckpoint(ctx context.Context, c domain.Checkpoint) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var have []checkpointRow
	if err := query(ctx, l.c, "SELECT seq FROM audit_checkpoints WHERE seq = "+strconv.FormatInt(c.Seq, 10)+" LIMIT 1", &have); err != nil || len(have) > 0 {
		return err
	}
	return insert(ctx, l.c, "audit_checkpoints", []checkpointRow{{Seq: c.Seq, Hash: c.Hash.String(), SignedNS: c.At.UnixNano(),
		KeyID: c.KeyID, Signature: hex.EncodeToString(c.Signature)}})
}

// Checkpoints returns the checkpoints in a range.
func (l *AuditLog) Checkpoints(ctx context.Context, from, to int64) ([]domain.Checkpoint, error) {
	var rows []checkpointRow
	if err := query(ctx, l.c, "SELECT seq, hash, signed_ns, key_id, signature FROM audit_checkpoints FINAL WHERE seq BETWEEN "+
		strconv.FormatInt(from, 10)+" AND "+strconv.FormatInt(to, 10)+" ORDER BY seq", &rows); err != nil {
		return nil, err
	}
	out := make([]domain.Checkpoint, len(rows))
	for i, r := range rows {
		sig, _ := hex.DecodeString(r.Signature) // a tampered value fails verification, as it should
		out[i] = domain.Checkpoint{Seq: r.Seq, Hash: hashOf(r.Hash), At: time.Unix(0, r.SignedNS).UTC(), KeyID: r.KeyID, Signature: sig}
	}
	return out, nil
}

// List pages through matching records.
func (l *AuditLog) List(ctx context.Context, f app.AuditFilter, after int64, limit int) ([]domain.AuditRecord, error) {
	var b strings.Builder
	b.WriteString("SELECT seq, event_id, occurred_ns, actor, action, target, canonical FROM audit_log WHERE seq > " + strconv.FormatInt(after, 10))
	for col, v := range map[string]string{"actor": f.Actor, "action": f.Action, "target": f.Target} {
		if v != "" {
			b.WriteString(" AND " + col + " = " + quote(v))
		}
	}
	if !f.Since.IsZero() {
		b.WriteString(" AND occurred_ns >= " + strconv.FormatInt(f.Since.UnixNano(), 10))
	}
	if !f.Until.IsZero() {
		b.WriteString(" AND occurred_ns < " + strconv.FormatInt(f.Until.UnixNano(), 10))
	}
	b.WriteString(" ORDER BY seq LIMIT " + strconv.Itoa(max(limit, 0)))
	var rows []auditRow
	if err := query(ctx, l.c, b.String(), &rows); err != nil {
		return nil, err
	}
	out := make([]domain.AuditRecord, len(rows))
	for i, r := range rows {
		out[i] = domain.AuditRecord{Seq: r.Seq, AuditEvent: domain.AuditEvent{ID: r.EventID, Time: time.Unix(0, r.OccurredNS).UTC(),
			Actor: r.Actor, Action: r.Action, Target: r.Target, Canonical: []byte(r.Canonical)}}
	}
	return out, nil
}

type keyRow struct {
	KeyID      string `json:"key_id"`
	PublicKey  string `json:"public_key"`
	PrivateKey string `json:"private_key"`
	CreatedNS  int64  `json:"created_ns"`
}

// AuditKeys returns the checkpoint keys, oldest first.
func (l *AuditLog) AuditKeys(ctx context.Context) ([]domain.AuditKey, error) {
	var rows []keyRow
	if err := query(ctx, l.c, "SELECT key_id, public_key, private_key, created_ns FROM audit_signing_keys FINAL ORDER BY created_ns, key_id", &rows); err != nil {
		return nil, err
	}
	out := make([]domain.AuditKey, len(rows))
	for i, r := range rows {
		pub, err := hex.DecodeString(r.PublicKey)
		if err != nil || len(pub) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("clickhouse: stored audit key %s is malformed", r.KeyID)
		}
		priv, _ := hex.DecodeString(r.PrivateKey) // empty for keys configured elsewhere
		out[i] = domain.AuditKey{ID: r.KeyID, Public: pub, Private: priv}
	}
	return out, nil
}

// AddAuditKey stores a checkpoint key unless its id is stored already.
func (l *AuditLog) AddAuditKey(ctx context.Context, k domain.AuditKey) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var have []keyRow
	if err := query(ctx, l.c, "SELECT key_id FROM audit_signing_keys WHERE key_id = "+quote(k.ID)+" LIMIT 1", &have); err != nil || len(have) > 0 {
		return err
	}
	return insert(ctx, l.c, "audit_signing_keys", []keyRow{{KeyID: k.ID, PublicKey: hex.EncodeToString(k.Public),
		PrivateKey: hex.EncodeToString(k.Private), CreatedNS: time.Now().UnixNano()}})
}

// hashOf reads a stored hex hash. A malformed value (only tampering makes
// one) becomes a hash nothing matches, so verification reports it.
func hashOf(s string) domain.Hash {
	var h domain.Hash
	if b, err := hex.DecodeString(s); err == nil && len(b) == len(h) {
		copy(h[:], b)
	} else {
		h[0] = 0xff
	}
	return h
}
