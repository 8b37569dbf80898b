package processingsvc

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/lattice-platform/lattice/pkg/adapters/extract"
	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	"github.com/lattice-platform/lattice/pkg/adapters/natsjs/chunksink"
	"github.com/lattice-platform/lattice/pkg/events"
	"github.com/lattice-platform/lattice/pkg/platform/config"
	"github.com/lattice-platform/lattice/pkg/target"
)

// Target is the processing service as a deployable target. It has no
// store of its own to migrate: jobs live in JetStream.
var Target = target.New(target.Description[Config]{
	Name: Name, Port: 8084, Needs: []string{"auth", "resource"}, Uses: []target.System{target.Embeddings},
	Bus: natsjs.Grants{
		Publishes: []string{"events.chunks.ready", "events.file.rejected", "audit.processing", "jobs.>", "dlq.>"},
		Reads:     []string{natsjs.EventsStream},
		Owns:      []string{natsjs.JobsStream.Name, "KV_" + JobBucket, "OBJ_" + natsjs.ChunkBucket},
	},
	// It reads every resource it indexes with the service client's token.
	ServiceCredential: true,
	Config:            func(env *config.Env, _ target.Settings) Config { return LoadConfig(env) },
	Build: func(ctx context.Context, c Config, p *target.Platform) (target.Service, error) {
		v, b, err := p.VerifierAndBus()
		if err != nil {
			return target.Service{}, err
		}
		if c.ServiceHTTP, err = p.ServiceClient(); err != nil {
			return target.Service{}, err
		}
		c.JetStream, c.Publisher, c.Subscriber, c.Verifier, c.Gate = b.JetStream, b.Publisher, b.Subscriber, v, b.Gate
		c.ResourceURL = p.URL("resource")
		if c.Transport, err = p.Transport(); err != nil {
			return target.Service{}, err
		}
		if c.Embedder, err = p.Embedder(); err != nil {
			return target.Service{}, err
		}
		svc, err := New(ctx, c, p.Logger(Name))
		if err != nil {
			return target.Service{}, err
		}
		return target.Service{HTTP: svc.HTTP, Run: svc.Run, Close: svc.Close}, nil
	},
})

// LoadConfig reads the processing service's settings from the environment.
func LoadConfig(env *config.Env) Config {
	return Config{
		Concurrency: env.Int("PROCESSING_CONCURRENCY", 4),
		AckWait:     env.Duration("PROCESSING_ACK_WAIT", 30*time.Second),
		MaxAttempts: env.Int("PROCESSING_MAX_ATTEMPTS", 5),
		JobTimeout:  env.Duration("PROCESSING_JOB_TIMEOUT", 5*time.Minute),
		Extraction: extract.Limits{
			CPU:     env.Duration("PROCESSING_EXTRACT_CPU", 20*time.Second),
			Memory:  int64(env.Int("PROCESSING_EXTRACT_MEMORY_BYTES", 512<<20)),
			Wall:    env.Duration("PROCESSING_EXTRACT_TIMEOUT", 60*time.Second),
			MaxText: int64(env.Int("PROCESSING_EXTRACT_MAX_TEXT_BYTES", 16<<20)),
		},
		ChunkSetType:     chunkSetType(env),
		InlineChunkBytes: inlineChunkBytes(env),
	}
}

// DefaultInlineChunkBytes is PROCESSING_INLINE_CHUNK_BYTES's default: a
// created resource's set (a chunk or two of 1,024 values) travels in its
// event, an upload's hundreds of chunks through the object store.
const DefaultInlineChunkBytes = 64 << 10

// inlineChunkBytes reads PROCESSING_INLINE_CHUNK_BYTES, where 0 (which
// config.Env.Int refuses) turns inlining off: Config's -1.
func inlineChunkBytes(env *config.Env) int {
	const key = "PROCESSING_INLINE_CHUNK_BYTES"
	v := env.String(key, "")
	if v == "" {
		return DefaultInlineChunkBytes
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > chunksink.MaxInlineBytes {
		env.Invalid(key, fmt.Errorf("%q is not a number of bytes from 0 to %d", v, chunksink.MaxInlineBytes))
		return DefaultInlineChunkBytes
	}
	if n == 0 {
		return -1
	}
	return n
}

// chunkSetType reads PROCESSING_CHUNK_SETS: cbor (the default) or json.
func chunkSetType(env *config.Env) string {
	const key = "PROCESSING_CHUNK_SETS"
	switch v := env.String(key, "cbor"); v {
	case "cbor":
		return events.ChunkSetCBOR
	case "json":
		return events.ChunkSetJSON
	default:
		env.Invalid(key, fmt.Errorf("%q is neither cbor nor json", v))
		return ""
	}
}
