package natsjs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lattice-platform/lattice/pkg/events"
	"github.com/lattice-platform/lattice/pkg/events/schema"
	"github.com/lattice-platform/lattice/pkg/fault"
)

// ChunkBucket is the object store bucket holding chunk sets. Objects live
// as long as EVENTS keeps the events that point to them (a week), so a
// consumer replaying the stream still finds them.
const ChunkBucket = "CHUNKS"

// chunkTTL bounds how long chunk sets are kept.
const chunkTTL = 7 * 24 * time.Hour

// OpenChunkBucket opens (creating if needed) the chunk-set object store,
// read from its stream's leader (see ReadFromLeader): search must not take
// a chunk set for expired because a catching-up replica has not seen it.
func OpenChunkBucket(ctx context.Context, js jetstream.JetStream) (jetstream.ObjectStore, error) {
	obs, err := js.ObjectStore(ctx, ChunkBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		obs, err = js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: ChunkBucket, TTL: chunkTTL, Storage: jetstream.FileStorage})
		if errors.Is(err, jetstream.ErrBucketExists) { // another service made it first
			obs, err = js.ObjectStore(ctx, ChunkBucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("nats: object store %s: %w", ChunkBucket, err)
	}
	if changed, err := ReadFromLeader(ctx, js, "OBJ_"+ChunkBucket); err != nil {
		return nil, fmt.Errorf("nats: object store %s: %w", ChunkBucket, err)
	} else if changed {
		if obs, err = js.ObjectStore(ctx, ChunkBucket); err != nil { // bound again, to read from the leader
			return nil, fmt.Errorf("nats: object store %s: %w", ChunkBucket, err)
		}
	}
	return obs, nil
}

// ReadFromLeader turns off direct gets on a stream, so that reads of a
// key-value bucket or object store built on it are answered by the
// stream's leader. With direct gets any replica answers, and one catching
// up after a restart answers "not found" for what was just written: a
// job or a chunk set would be taken for deleted. It reports whether the
// stream changed, in which case a bucket bound before must be bound again.
func ReadFromLeader(ctx context.Context, js jetstream.JetStream, stream string) (bool, error) {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return false, err
	}
	cfg := s.CachedInfo().Config
	if !cfg.AllowDirect {
		return false, nil
	}
	cfg.AllowDirect = false
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		return false, fmt.Errorf("leader reads: %w", err)
	}
	return true, nil
}

// ChunkSets reads the chunk sets chunks.ready events point to.
type ChunkSets struct {
	obs      jetstream.ObjectStore
	maxBytes int64
}

// MaxChunkSetBytes bounds a chunk set read from the store. Processing's
// largest text (16 MiB) with 1,024-value vectors makes about 200 MB as CBOR.
const MaxChunkSetBytes = 1 << 30

// NewChunkSets reads from obs.
func NewChunkSets(obs jetstream.ObjectStore) *ChunkSets {
	return &ChunkSets{obs: obs, maxBytes: MaxChunkSetBytes}
}

// Fetch returns the chunk set a chunks.ready event's object names,
// checking its digest, in the media type the reference names (JSON when it
// names none). A set that no longer exists (expired) gives a fault.NotFound
// error.
func (c *ChunkSets) Fetch(ctx context.Context, ref schema.ObjectRef) (schema.ChunkSet, error) {
	var set schema.ChunkSet
	if ref.Bucket != ChunkBucket {
		return set, fault.New(fault.Invalid, "unknown chunk bucket "+ref.Bucket)
	}
	contentType := ""
	if ref.ContentType != nil {
		contentType = string(*ref.ContentType)
	}
	r, err := c.obs.Get(ctx, ref.Key)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return set, fault.New(fault.NotFound, "chunk set "+ref.Key+" no longer exists")
	}
	if err != nil {
		return set, Unavailable(err)
	}
	defer r.Close()
	info, err := r.Info()
	if err != nil {
		return set, Unavailable(err)
	}
	if info.Size > uint64(c.maxBytes) {
		return set, fault.New(fault.Invalid, fmt.Sprintf("chunk set %s is %d bytes, over the limit of %d", ref.Key, info.Size, c.maxBytes))
	}
	// The object store's reader checks the bytes against the SHA-256 it
	// stored with them, and fails at the end if they differ. When that is
	// the digest the event names, hashing the set again (0.7 ms for an
	// upload's 1.5 MB) would check nothing more.
	stored, err := jetstream.DecodeObjectDigest(info.Digest)
	checked := err == nil && hex.EncodeToString(stored) == ref.Sha256
	// Sized from the object's info, so a set of megabytes is read into one
	// buffer rather than grown and copied as io.ReadAll would.
	buf := bytes.NewBuffer(make([]byte, 0, int(info.Size)+bytes.MinRead))
	if _, err := buf.ReadFrom(io.LimitReader(r, c.maxBytes+1)); errors.Is(err, jetstream.ErrDigestMismatch) {
		// Read again later, not skipped: the object may have been put
		// anew (a redone job) while it was read. One that stays corrupt
		// goes to the dead-letter stream after its deliveries, not lost.
		return set, fault.Wrap(fault.Unavailable, "chunk set "+ref.Key+" did not match its digest as read", err)
	} else if err != nil {
		return set, Unavailable(err)
	}
	body := buf.Bytes()
	if int64(len(body)) > c.maxBytes {
		return set, fault.New(fault.Invalid, fmt.Sprintf("chunk set %s is over the limit of %d bytes", ref.Key, c.maxBytes))
	}
	if !checked {
		if sum := sha256.Sum256(body); hex.EncodeToString(sum[:]) != ref.Sha256 {
			return set, fault.New(fault.Invalid, "chunk set "+ref.Key+" does not match its digest")
		}
	}
	set, err = events.DecodeChunkSet(body, contentType)
	if err != nil {
		return set, fault.Wrap(fault.Invalid, "chunk set "+ref.Key+" is malformed", err)
	}
	return set, nil
}
