// Package chunksink is the processing service's app.ChunkSink on
// JetStream. A small chunk set travels in its chunks.ready event; a larger
// one goes to the CHUNKS object store (natsjs.ChunkBucket) and the event
// points to it, a claim check, since a document's vectors easily exceed a
// message's size limit (ADRs 0009 and 0054).
package chunksink

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
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
	inlineBytes int    // the largest set, as JSON, sent in its event; 0: none
	now         func() time.Time
	putTimeout  time.Duration // putTimeout; tests shorten it
}

var _ app.ChunkSink = (*Sink)(nil)

// putTimeout bounds storing one chunk set (at most a few MB).
const putTimeout = 30 * time.Second

// MaxInlineBytes bounds inlineBytes: with the envelope, an event stays
// well within NATS's default message size limit (1 MiB).
const MaxInlineBytes = 512 << 10

// New publishes through pub and stores chunk sets in obs
// (natsjs.OpenChunkBucket) as contentType: events.ChunkSetCBOR, or
// events.ChunkSetJSON while a search older than CBOR sets still reads them.
// A set whose chunks take at most inlineBytes as JSON travels in its event
// instead (0: none does, while a search older than such events still
// reads them; at most MaxInlineBytes).
func New(obs jetstream.ObjectStore, pub ports.EventPublisher, contentType string, inlineBytes int) (*Sink, error) {
	if _, err := events.EncodeChunkSet(schema.ChunkSet{}, contentType); err != nil {
		return nil, err
	}
	if inlineBytes < 0 || inlineBytes > MaxInlineBytes {
		return nil, fmt.Errorf("chunk sets inline: %d bytes is outside 0 to %d", inlineBytes, MaxInlineBytes)
	}
	return &Sink{obs: obs, pub: pub, contentType: contentType, inlineBytes: inlineBytes, now: time.Now, putTimeout: putTimeout}, nil
}

// Ready announces the chunk set, in its event when it is small, else
// stored first. Both are keyed by the content, so delivering the same
// result twice stores one object and JetStream drops the second event as a
// duplicate.
func (s *Sink) Ready(ctx context.Context, c domain.ChunksReady) error {
	set := schema.ChunkSet{Chunks: make([]schema.ChunkItem, 0, len(c.Chunks))}
	for _, ch := range c.Chunks {
		set.Chunks = append(set.Chunks, schema.ChunkItem{Id: ch.ID, Index: ch.Index, Text: ch.Text, Vector: events.EncodeVector(ch.Vector)})
	}
	data := schema.ChunksReady{
		ResourceId: c.ResourceID, Version: c.Version, Model: c.Model, Dimensions: c.Dimensions,
		ChunkCount: len(c.Chunks), ProcessedAt: s.now().UTC(),
	}
	if c.FileID != "" {
		data.FileId = &c.FileID
	}
	source := c.FileID
	if source == "" {
		source = "body"
	}
	name := fmt.Sprintf("%s/%s/%d", c.ResourceID, source, c.Version)
	digest, err := s.inline(set, &data)
	if err != nil {
		return err
	}
	if data.Chunks == nil {
		if digest, err = s.store(ctx, name, set, &data); err != nil {
			return err
		}
	}
	return s.publish(ctx, schema.CloudEventTypeChunksReady, c.ResourceID, "chunks.ready:"+name+"/"+digest, data)
}

// inline puts set in the event when its chunks take at most inlineBytes
// as JSON, and returns their digest; it leaves the event as it was
// otherwise.
func (s *Sink) inline(set schema.ChunkSet, data *schema.ChunksReady) (string, error) {
	least := 0 // bytes the chunks take as JSON at the least
	for _, ch := range set.Chunks {
		least += len(ch.Text) + base64.StdEncoding.EncodedLen(len(ch.Vector))
	}
	if least > s.inlineBytes {
		return "", nil // not worth encoding to find out
	}
	body, err := json.Marshal(set.Chunks)
	if err != nil {
		return "", err
	}
	if len(body) > s.inlineBytes {
		return "", nil
	}
	sum := sha256.Sum256(body)
	data.Chunks = &set.Chunks
	return hex.EncodeToString(sum[:]), nil
}

// store puts set in the object store under name and its digest, names it
// in the event, and returns the digest.
func (s *Sink) store(ctx context.Context, name string, set schema.ChunkSet, data *schema.ChunksReady) (string, error) {
	body, err := events.EncodeChunkSet(set, s.contentType)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(body)
	digest := hex.EncodeToString(sum[:])
	key := name + "/" + digest
	// Bounded: a reply lost while a cluster node restarts fails the put in
	// seconds (the job is retried) instead of holding it to its deadline.
	pctx, cancel := context.WithTimeout(ctx, s.putTimeout)
	defer cancel()
	if _, err := s.obs.Put(pctx, jetstream.ObjectMeta{Name: key}, bytes.NewReader(body)); err != nil {
		return "", natsjs.Unavailable(err)
	}
	data.Object = &schema.ObjectRef{Bucket: natsjs.ChunkBucket, Key: key, Sha256: digest}
	if s.contentType != events.ChunkSetJSON { // as before the field, for a search that predates it
		ct := schema.ObjectRefContentType(s.contentType)
		data.Object.ContentType = &ct
	}
	return digest, nil
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
