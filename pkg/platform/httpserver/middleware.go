package httpserver

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/platform/clientaddr"
	"github.com/lattice-platform/lattice/pkg/platform/observe"
	"github.com/lattice-platform/lattice/pkg/platform/problem"
	"github.com/lattice-platform/lattice/pkg/platform/tlsfiles"
)

// RequestID keeps a sane incoming X-Request-ID (so a gateway's id follows the
// request through every service) or makes a new one, and puts it on the
// response and in the context for logs.
func RequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := RequestIDOf(r.Header.Get("X-Request-ID"))
		w.Header().Set("X-Request-ID", id)
		next.ServeHTTP(w, r.WithContext(observe.WithRequestID(r.Context(), id)))
	})
}

// RequestIDOf is the request id for a request that came with sent (its
// X-Request-ID, or ""): sent if it is sane, else a new one.
func RequestIDOf(sent string) string {
	if validRequestID(sent) {
		return sent
	}
	return newRequestID()
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

// newRequestID is 128 random bits in hex. An id must be unique, not
// secret: the runtime's generator (ChaCha8, seeded by the system) serves,
// where crypto/rand cost a thousand instructions a request on the
// gateway's hot path (bench/gateway -callgrind); ADR 0047.
func newRequestID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	return hex.EncodeToString(b[:])
}

// Recover turns a panic into a logged 500 problem instead of a dropped
// connection.
func Recover(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler { //nolint:errorlint // a recovered value, never wrapped: net/http's own idiom
						panic(v)
					}
					log.ErrorContext(r.Context(), "panic", "panic", fmt.Sprint(v))
					problem.Write(w, r, fmt.Errorf("panic: %v", v))
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// Peer puts the service a verified client certificate names into the
// request's context (tlsfiles.PeerOf), for checks that see only the context.
func Peer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if peer := tlsfiles.ServiceOf(r); peer != "" {
			r = r.WithContext(tlsfiles.WithPeer(r.Context(), peer))
		}
		next.ServeHTTP(w, r)
	})
}

// AccessLog writes one line per request; a caller that presented a
// verified client certificate is logged by its service identity (peer).
func AccessLog(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ww := observe.Measured(w, r)
			next.ServeHTTP(ww, r)
			LogRequest(r.Context(), log, Request{Method: r.Method, Path: r.URL.Path, Client: clientaddr.From(r).Addr,
				Status: ww.Status(), Bytes: ww.BytesWritten(), Took: time.Since(start), Peer: tlsfiles.ServiceOf(r)})
		})
	}
}

// Request is what the access log says of one request.
type Request struct {
	Method, Path, Client string
	Status, Bytes        int
	Took                 time.Duration
	Peer                 string    // the service a verified client certificate names, if any
	At                   time.Time // when the answer was out, for the line's time; zero: now
}

// accessLine is the access log's line; peer is last, left out when empty.
var accessLine = observe.NewLine(slog.LevelInfo, "http request", "method", "path", "client", "status", "bytes", "duration_ms", "peer")

// LogRequest writes the access log's line for r: AccessLog's, for a
// request served without net/http.
func LogRequest(ctx context.Context, log *slog.Logger, r Request) {
	values := [...]slog.Value{slog.StringValue(r.Method), slog.StringValue(r.Path), slog.StringValue(r.Client),
		slog.IntValue(r.Status), slog.IntValue(r.Bytes), slog.Float64Value(float64(r.Took.Microseconds()) / 1000), slog.StringValue(r.Peer)}
	n := len(values)
	if r.Peer == "" {
		n--
	}
	now := r.At
	if now.IsZero() {
		now = time.Now()
	}
	accessLine.Write(ctx, log, now, values[:n]...)
}

// MaxBody caps request bodies at limit(r). A body over the cap is refused
// with 413 before any handler sees it when Content-Length already says so;
// otherwise reading past the cap fails, and TooLarge maps that failure.
func MaxBody(limitOf func(*http.Request) int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			limit := limitOf(r)
			if r.ContentLength > limit {
				problem.Write(w, r, fault.New(fault.TooLarge, fmt.Sprintf("request body exceeds %d bytes", limit)))
				return
			}
			if r.Body != nil && r.Body != http.NoBody {
				r.Body = http.MaxBytesReader(w, r.Body, limit)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// TooLarge reports whether err came from reading past the body cap, and
// returns the matching client error.
func TooLarge(err error) (*fault.Error, bool) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return fault.New(fault.TooLarge, fmt.Sprintf("request body exceeds %d bytes", mbe.Limit)), true
	}
	return nil, false
}
