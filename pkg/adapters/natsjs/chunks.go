package natsjs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lattice-platform/lattice/pkg/events"
	"github.com/lattice-platform/lattice/pkg/events/schema"
	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/processing/app"
	"github.com/lattice-platform/lattice/services/processing/domain"
)

// ChunkBucket is the object store bucket holding chunk sets. Objects live
// as long as EVENTS keeps the events that point to them (a week), so a
// consumer replaying the stream still finds them.
const ChunkBucket = "CHUNKS"

// chunkTTL bounds how long chunk sets are kept.
const chunkTTL = 7 * 24 * time.Hour

// OpenChunkBucket opens (creating if needed) the chunk-set object store.
func OpenChunkBucket(ctx context.Context, js jetstream.JetStream) (jetstream.ObjectStore, error) {
	obs, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: ChunkBucket, TTL: chunkTTL, Storage: jetstream.FileStorage})
	if err != nil {
		return nil, fmt.Errorf("nats: object store %s: %w", ChunkBucket, err)
	}
	return obs, nil
}

// ChunkSink is the app.ChunkSink of the processing service: chunk sets
// go to the object store and a chunks.ready event points to them (a claim
// check: a document's vectors easily exceed a message's size limit).
type ChunkSink struct {
	obs jetstream.ObjectStore
	pub ports.EventPublisher
	now func() time.Time
}

var _ app.ChunkSink = (*ChunkSink)(nil)

// NewChunkSink publishes through pub and stores chunk sets in obs.
func NewChunkSink(obs jetstream.ObjectStore, pub ports.EventPublisher) *ChunkSink {
	return &ChunkSink{obs: obs, pub: pub, now: time.Now}
}

// Ready stores the chunk set, then publishes the event. Both are keyed by
// the content, so delivering the same result twice stores one object and
// JetStream drops the second event as a duplicate.
func (s *ChunkSink) Ready(ctx context.Context, c domain.ChunksReady) error {
	set := schema.ChunkSet{Chunks: make([]schema.ChunkItem, 0, len(c.Chunks))}
	for _, ch := range c.Chunks {
		set.Chunks = append(set.Chunks, schema.ChunkItem{Id: ch.ID, Index: ch.Index, Text: ch.Text, Vector: events.EncodeVector(ch.Vector)})
	}
	body, err := json.Marshal(set)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	digest := hex.EncodeToString(sum[:])
	source := c.FileID
	if source == "" {
		source = "body"
	}
	key := fmt.Sprintf("%s/%s/%d/%s", c.ResourceID, source, c.Version, digest)
	if _, err := s.obs.Put(ctx, jetstream.ObjectMeta{Name: key}, bytes.NewReader(body)); err != nil {
		return unavailable(err)
	}
	data := schema.ChunksReady{
		ResourceId: c.ResourceID, Version: c.Version, Model: c.Model, Dimensions: c.Dimensions,
		ChunkCount: len(c.Chunks), ProcessedAt: s.now().UTC(),
		Object: schema.ObjectRef{Bucket: ChunkBucket, Key: key, Sha256: digest},
	}
	if c.FileID != "" {
		data.FileId = &c.FileID
	}
	return s.publish(ctx, schema.CloudEventTypeChunksReady, c.ResourceID, "chunks.ready:"+key, data)
}

// Rejected publishes file.rejected, once per file.
func (s *ChunkSink) Rejected(ctx context.Context, resourceID, fileID, reason string) error {
	return s.publish(ctx, schema.CloudEventTypeFileRejected, resourceID, "file.rejected:"+resourceID+"/"+fileID,
		schema.FileRejected{ResourceId: resourceID, FileId: fileID, Reason: reason, RejectedAt: s.now().UTC()})
}

// publish sends one event whose id derives from dedupKey, so a redone job
// publishes an event JetStream recognises as a duplicate.
func (s *ChunkSink) publish(ctx context.Context, typ schema.CloudEventType, subject, dedupKey string, data any) error {
	id := uuid.NewSHA1(uuid.NameSpaceURL, []byte("lattice:"+dedupKey)).String()
	env, err := events.NewWithID(id, "lattice/processing", typ, subject, s.now(), data)
	if err != nil {
		return err
	}
	return s.pub.PublishBatch(ctx, []ports.Event{env})[0]
}

// ChunkSets reads the chunk sets chunks.ready events point to.
type ChunkSets struct {
	obs jetstream.ObjectStore
}

// NewChunkSets reads from obs.
func NewChunkSets(obs jetstream.ObjectStore) *ChunkSets { return &ChunkSets{obs: obs} }

// Fetch returns the chunk set an event names, checking its digest. A set
// that no longer exists (expired) gives a fault.NotFound error.
func (c *ChunkSets) Fetch(ctx context.Context, ref schema.ChunksReady) (schema.ChunkSet, error) {
	var set schema.ChunkSet
	if ref.Object.Bucket != ChunkBucket {
		return set, fault.New(fault.Invalid, "unknown chunk bucket "+ref.Object.Bucket)
	}
	r, err := c.obs.Get(ctx, ref.Object.Key)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return set, fault.New(fault.NotFound, "chunk set "+ref.Object.Key+" no longer exists")
	}
	if err != nil {
		return set, unavailable(err)
	}
	defer r.Close()
	body, err := io.ReadAll(r)
	if err != nil {
		return set, unavailable(err)
	}
	if sum := sha256.Sum256(body); hex.EncodeToString(sum[:]) != ref.Object.Sha256 {
		return set, fault.New(fault.Invalid, "chunk set "+ref.Object.Key+" does not match its digest")
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return set, fault.Wrap(fault.Invalid, "chunk set "+ref.Object.Key+" is malformed", err)
	}
	return set, nil
}
