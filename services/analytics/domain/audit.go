// Package domain holds the analytics service's rules. This file is the
// audit log's tamper evidence, in the style of CloudTrail's digest chain:
// every entry's hash covers the previous entry's hash and the entry's
// canonical JSON, and checkpoints sign the chain's head with Ed25519, so
// an altered, deleted, inserted or reordered entry breaks the chain at a
// point verification can name. It imports only the standard library.
package domain

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"
)

// Hash is a SHA-256 digest.
type Hash [32]byte

// String is the digest in hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// Genesis is the "previous hash" of the first entry.
var Genesis = Hash{}

// AuditEntry is one stored audit event: its position in the chain, its
// canonical JSON (RFC 8785) and the chain hash after it.
type AuditEntry struct {
	Seq       int64 // 1, 2, 3, … with no gaps
	Canonical []byte
	Hash      Hash
}

// ChainHash is the hash of an entry: SHA-256(previous hash ‖ canonical JSON).
func ChainHash(prev Hash, canonical []byte) Hash {
	h := sha256.New()
	h.Write(prev[:])
	h.Write(canonical)
	var out Hash
	h.Sum(out[:0])
	return out
}

// Append makes the entry that follows prev (the zero entry for the first).
func Append(prev AuditEntry, canonical []byte) AuditEntry {
	return AuditEntry{Seq: prev.Seq + 1, Canonical: canonical, Hash: ChainHash(prev.Hash, canonical)}
}

// Checkpoint is a signed statement of the chain's head at a point.
type Checkpoint struct {
	Seq       int64
	Hash      Hash
	At        time.Time
	KeyID     string
	Signature []byte
}

// checkpointMessage is what a checkpoint signs: a fixed prefix (so the key
// signs nothing else by accident), the position, the hash and the time.
func checkpointMessage(seq int64, h Hash, at time.Time) []byte {
	var b bytes.Buffer
	b.WriteString("lattice-audit-checkpoint-v1\n")
	_ = binary.Write(&b, binary.BigEndian, seq)
	b.Write(h[:])
	_ = binary.Write(&b, binary.BigEndian, at.UTC().UnixNano())
	return b.Bytes()
}

// SignCheckpoint signs the head entry.
func SignCheckpoint(head AuditEntry, at time.Time, keyID string, key ed25519.PrivateKey) Checkpoint {
	return Checkpoint{Seq: head.Seq, Hash: head.Hash, At: at.UTC(), KeyID: keyID,
		Signature: ed25519.Sign(key, checkpointMessage(head.Seq, head.Hash, at))}
}

// Valid reports whether the checkpoint's signature holds under pub.
func (c Checkpoint) Valid(pub ed25519.PublicKey) bool {
	return ed25519.Verify(pub, checkpointMessage(c.Seq, c.Hash, c.At), c.Signature)
}

// Break says where and how a chain is broken.
type Break struct {
	Seq    int64 // the first entry (or checkpoint position) that does not verify
	Reason string
}

// Error describes the break.
func (b Break) Error() string { return fmt.Sprintf("audit chain broken at %d: %s", b.Seq, b.Reason) }

// Verify checks entries (in the order the store returns them, ascending by
// Seq) against the hash before them (Genesis for a range starting at 1)
// and the checkpoints signed within the range — a checkpoint past the last
// entry means entries were removed from the end. It returns the first
// break, or nil when every link and checkpoint holds.
func Verify(prev Hash, firstSeq int64, entries []AuditEntry, checkpoints []Checkpoint, keys map[string]ed25519.PublicKey) *Break {
	bySeq := make(map[int64]Hash, len(entries))
	want := firstSeq
	for _, e := range entries {
		switch {
		case e.Seq > want:
			return &Break{Seq: want, Reason: fmt.Sprintf("entry %d is missing (next stored is %d)", want, e.Seq)}
		case e.Seq < want:
			return &Break{Seq: e.Seq, Reason: fmt.Sprintf("entry %d is out of order or duplicated (expected %d)", e.Seq, want)}
		}
		if h := ChainHash(prev, e.Canonical); h != e.Hash {
			return &Break{Seq: e.Seq, Reason: "the entry's content or its predecessor does not match its hash"}
		}
		prev = e.Hash
		bySeq[e.Seq] = e.Hash
		want++
	}
	for _, c := range checkpoints {
		pub, ok := keys[c.KeyID]
		if !ok || !c.Valid(pub) {
			return &Break{Seq: c.Seq, Reason: "the checkpoint's signature does not verify"}
		}
		h, in := bySeq[c.Seq]
		switch {
		case !in && c.Seq >= firstSeq:
			return &Break{Seq: c.Seq, Reason: "the entry a signed checkpoint covers is missing"}
		case in && h != c.Hash:
			return &Break{Seq: c.Seq, Reason: "the chain does not match the signed checkpoint"}
		}
	}
	return nil
}

// Gap is a stretch between two consecutive checkpoints longer than the
// signing cadence allows: the service was down, or checkpoints made then
// were removed.
type Gap struct {
	AfterSeq, BeforeSeq int64
	After, Before       time.Time
}

// CadenceGaps lists the gaps in checkpoints (ordered by time) longer than
// twice every, the cadence they are signed at.
func CadenceGaps(checkpoints []Checkpoint, every time.Duration) []Gap {
	var gaps []Gap
	for i := 1; i < len(checkpoints); i++ {
		a, b := checkpoints[i-1], checkpoints[i]
		if b.At.Sub(a.At) > 2*every {
			gaps = append(gaps, Gap{AfterSeq: a.Seq, BeforeSeq: b.Seq, After: a.At, Before: b.At})
		}
	}
	return gaps
}

// AuditEvent is a security-relevant action as the log stores it: the
// fields it is filtered by, and its canonical JSON, which the chain covers.
type AuditEvent struct {
	ID        string // the CloudEvents id: appending it twice stores it once
	Time      time.Time
	Actor     string
	Action    string
	Target    string
	Canonical []byte
}

// AuditRecord is a stored event with its place in the chain.
type AuditRecord struct {
	Seq int64
	AuditEvent
}

// AuditKey is a key that signs checkpoints. Private is set only for keys
// the service generated itself and keeps in its store.
type AuditKey struct {
	ID      string
	Public  ed25519.PublicKey
	Private ed25519.PrivateKey
}

// KeyID names a public key by its digest, so ids need no coordination.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}
