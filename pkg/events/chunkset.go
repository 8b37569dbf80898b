package events

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"

	"github.com/lattice-platform/lattice/pkg/events/schema"
)

// The media types a chunk set object is stored in (schema.ObjectRef's
// content_type). CBOR is what processing writes: the vectors, most of a
// set's bytes, travel as byte strings, so reading a set is a walk over
// lengths rather than two scans of base64 text (ADR 0042).
const (
	ChunkSetJSON = string(schema.ObjectRefContentTypeApplicationjson)
	ChunkSetCBOR = string(schema.ObjectRefContentTypeApplicationcbor)
)

// MaxChunkSetChunks bounds the chunks a set read from the store may hold;
// processing's largest text (16 MiB) makes a small fraction of it.
const MaxChunkSetChunks = 1 << 20

// chunkSetCBOR encodes deterministically (RFC 8949 §4.2.1: definite
// lengths, sorted keys), so the same chunks give the same bytes and the
// same digest, which names the object: a redone job stores nothing new.
var chunkSetCBOR = func() cbor.EncMode {
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err)
	}
	return em
}()

// readChunkSetCBOR bounds what a stored object can make the decoder do:
// a set is a map of an array of maps, four fields each; no tags, no
// indefinite lengths, no duplicate or unknown keys (the schema's
// additionalProperties: false).
var readChunkSetCBOR = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		MaxNestedLevels:   4,
		MaxArrayElements:  MaxChunkSetChunks,
		MaxMapPairs:       16,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		UTF8:              cbor.UTF8RejectInvalid,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return dm
}()

// EncodeChunkSet stores set in contentType (ChunkSetCBOR or ChunkSetJSON).
// Texts that are not valid UTF-8 have the bad bytes replaced by U+FFFD, as
// encoding/json always did, since CBOR text strings must be UTF-8.
func EncodeChunkSet(set schema.ChunkSet, contentType string) ([]byte, error) {
	switch contentType {
	case ChunkSetCBOR:
		copied := false
		for i := range set.Chunks {
			if t := set.Chunks[i].Text; !utf8.ValidString(t) {
				if !copied { // the caller's chunks stay as they were
					set.Chunks, copied = append([]schema.ChunkItem(nil), set.Chunks...), true
				}
				set.Chunks[i].Text = strings.ToValidUTF8(t, "\uFFFD")
			}
		}
		return chunkSetCBOR.Marshal(set)
	case ChunkSetJSON:
		return json.Marshal(set)
	default:
		return nil, fmt.Errorf("chunk set: unsupported content type %q", contentType)
	}
}

// DecodeChunkSet reads a stored chunk set; contentType "" is JSON, the form
// of objects written before references named their type.
func DecodeChunkSet(body []byte, contentType string) (schema.ChunkSet, error) {
	var set schema.ChunkSet
	switch contentType {
	case ChunkSetCBOR:
		if err := readChunkSetCBOR.Unmarshal(body, &set); err != nil {
			return schema.ChunkSet{}, err
		}
	case ChunkSetJSON, "":
		if err := json.Unmarshal(body, &set); err != nil {
			return schema.ChunkSet{}, err
		}
		if len(set.Chunks) > MaxChunkSetChunks {
			return schema.ChunkSet{}, fmt.Errorf("chunk set of %d chunks, over the limit of %d", len(set.Chunks), MaxChunkSetChunks)
		}
	default:
		return schema.ChunkSet{}, fmt.Errorf("unsupported content type %q", contentType)
	}
	return set, nil
}
