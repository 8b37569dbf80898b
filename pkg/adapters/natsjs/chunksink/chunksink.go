// Package chunksink is the processing service's app.ChunkSink on
// JetStream: chunk sets go to the CHUNKS object store (natsjs.ChunkBucket)
// and a chunks.ready event points to them, a claim check, since a
// document's vectors easily exceed a message's size limit (ADR 0009).
package chunksink

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	"github.com/lattice-platform/lattice/pkg/events"
	"github.com/lattice-platform/lattice/pkg/events/schema"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/processing/app"
	"github.com/lattice-platform/lattice/services/processing/domain"
)

// Sink stores chunk sets and announces them.
type Sink struct {
	obs         jetstream.ObjectStore
	pub         ports.EventPublisher
	contentType string // events.ChunkSetCBOR or events.ChunkSetJSON
	now         func() time.Time
	putTimeout  time.Duration // putTimeout; tests shorten it
}

var _ app.ChunkSink = (*Sink)(nil)

// putTimeout bounds storing one chunk set (at most a few MB).
const putTimeout = 30 * time.Second

// New publishes through pub and stores chunk sets in obs
// (natsjs.OpenChunkBucket) as contentType: events.ChunkSetCBOR, or
// events.ChunkSetJSON while a search older than CBOR sets still reads them.
func New(obs jetstream.ObjectStore, pub ports.EventPublisher, contentType string) (*Sink, error) {
	if _, err := events.EncodeChunkSet(schema.ChunkSet{}, contentType); err != nil {
		return nil, err
	}
	return &Sink{obs: obs, pub: pub, contentType: contentType, now: time.Now, putTimeout: putTimeout}, nil
}

// Ready stores the chunk set, then publishes the event. Both are keyed by
// the content, so delivering the same result twice stores one object and
// JetStream drops the second event as a duplicate.
func (s *Sink) Ready(ctx context.Context, c domain.ChunksReady) error {
	set := schema.ChunkSet{Chunks: make([]schema.ChunkItem, 0, len(c.Chunks))}
	for _, ch := range c.Chunks {
		set.Chunks = append(set.Chunks, schema.ChunkItem{Id: ch.ID, Index: ch.Index, Text: ch.Text, Vector: events.EncodeVector(ch.Vector)})
	}
	body, err := events.EncodeChunkSet(set, s.contentType)
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
	// Bounded: a reply lost while a cluster node restarts fails the put in
	// seconds (the job is retried) instead of holding it to its deadline.
	pctx, cancel := context.WithTimeout(ctx, s.putTimeout)
	defer cancel()
	if _, err := s.obs.Put(pctx, jetstream.ObjectMeta{Name: key}, bytes.NewReader(body)); err != nil {
		return natsjs.Unavailable(err)
	}
	data := schema.ChunksReady{
		ResourceId: c.ResourceID, Version: c.Version, Model: c.Model, Dimensions: c.Dimensions,
		ChunkCount: len(c.Chunks), ProcessedAt: s.now().UTC(),
		Object: schema.ObjectRef{Bucket: natsjs.ChunkBucket, Key: key, Sha256: digest},
	}
	if s.contentType != events.ChunkSetJSON { // as before the field, for a search that predates it
		ct := schema.ObjectRefContentType(s.contentType)
		data.Object.ContentType = &ct
	}
	if c.FileID != "" {
		data.FileId = &c.FileID
	}
	return s.publish(ctx, schema.CloudEventTypeChunksReady, c.ResourceID, "chunks.ready:"+key, data)
}

// Rejected publishes file.rejected, once per file.
func (s *Sink) Rejected(ctx context.Context, resourceID, fileID, reason string) error {
	return s.publish(ctx, schema.CloudEventTypeFileRejected, resourceID, "file.rejected:"+resourceID+"/"+fileID,
		schema.FileRejected{ResourceId: resourceID, FileId: fileID, Reason: reason, RejectedAt: s.now().UTC()})
}

// publish sends one event whose id derives from dedupKey, so a redone job
// publishes an event JetStream recognises as a duplicate.
func (s *Sink) publish(ctx context.Context, typ schema.CloudEventType, subject, dedupKey string, data any) error {
	id := uuid.NewSHA1(uuid.NameSpaceURL, []byte("lattice:"+dedupKey)).String()
	env, err := events.NewWithID(id, "lattice/processing", typ, subject, s.now(), data)
	if err != nil {
		return err
	}
	return s.pub.PublishBatch(ctx, []ports.Event{env})[0]
}
