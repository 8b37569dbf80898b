// Package argon2id hashes passwords with Argon2id (RFC 9106) and stores them
// as PHC strings, so parameters can be raised later without invalidating
// existing hashes: each hash says how it was made.
package argon2id

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/ports"
)

// Params are Argon2id's cost parameters.
type Params struct {
	MemoryKiB   uint32
	Iterations  uint32
	Parallelism uint8
	SaltLen     uint32
	KeyLen      uint32
}

// OWASP is the OWASP Password Storage Cheat Sheet's first recommendation
// (m=47104 KiB / 46 MiB, t=1, p=1). It is the default: ~50 ms per hash on
// this project's 2-core machines, which bounds how many logins one core can
// verify per second (see docs/benchmarks.md).
var OWASP = Params{MemoryKiB: 47104, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

// Hasher implements ports.PasswordHasher. Each hash holds MemoryKiB of
// memory for its duration, so hashes run behind a semaphore: unauthenticated
// logins and sign-ups from many addresses queue briefly for a slot and are
// then turned away (ErrBusy), instead of exhausting memory.
type Hasher struct {
	p     Params
	slots chan struct{}
	wait  time.Duration
}

var _ ports.PasswordHasher = (*Hasher)(nil)

// New returns a hasher that creates hashes with p, with as many slots as
// Slots(p) allows and a short queue.
func New(p Params) *Hasher { return NewLimited(p, 0, 0) }

// DefaultWait is how long a hash waits for a slot before ErrBusy. A
// waiting hash holds no memory and no CPU, so the wait bounds only how
// long a burst's last login is kept; two seconds let a burst of 16 get
// through two slots even when the heap is cold (BenchmarkColdBurst), and
// keep a login that also waits on its stores well inside the gateway's
// 10 s deadline.
const DefaultWait = 2 * time.Second

// NewLimited returns a hasher that runs at most concurrent hashes at once
// (0: Slots(p)); a hash waits up to wait for a slot (0: DefaultWait).
func NewLimited(p Params, concurrent int, wait time.Duration) *Hasher {
	if concurrent <= 0 {
		concurrent = Slots(p)
	}
	if wait <= 0 {
		wait = DefaultWait
	}
	return &Hasher{p: p, slots: make(chan struct{}, concurrent), wait: wait}
}

// ErrBusy is returned when every slot stayed taken for the whole wait.
var ErrBusy = &fault.Error{Kind: fault.Unavailable, Message: "too many sign-ins at once; try again shortly", RetryAfterSeconds: 1}

// Slots is the default number of concurrent hashes: what a quarter of the
// memory available to the process holds, and no more than one per CPU for
// each of a hash's lanes (CPUs, not Ps: a process of several targets runs
// more Ps than cores, ADR 0041).
//
// More at once gains nothing, since a hash keeps its lanes' CPUs busy
// from start to end, and it costs much: each hash takes its memory fresh
// from the heap, and in a burst after a quiet spell that memory comes
// from the operating system, page by page. On this project's 2-core
// machines a cold burst of 16 OWASP hashes took 8.7 s with eight at once
// and 1.2–2.9 s with one or two (BenchmarkColdBurst, docs/benchmarks.md).
func Slots(p Params) int {
	perHash := uint64(max(p.MemoryKiB, 1)) << 10
	n := availableMemory() / 4 / perHash
	cpus := min(runtime.NumCPU(), runtime.GOMAXPROCS(0)) / max(int(p.Parallelism), 1)
	return int(min(max(n, 1), uint64(max(cpus, 1))))
}

// availableMemory reads the cgroup's limit, else MemAvailable; 1 GiB when
// neither can be read.
func availableMemory() uint64 {
	if b, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil {
			return v
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "MemAvailable:"); ok {
				var kib uint64
				if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kib); err == nil {
					return kib << 10
				}
			}
		}
	}
	return 1 << 30
}

// acquire takes a slot, waiting at most h.wait.
func (h *Hasher) acquire(ctx context.Context) (func(), error) {
	release := func() { <-h.slots }
	select {
	case h.slots <- struct{}{}:
		return release, nil
	default:
	}
	t := time.NewTimer(h.wait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		return release, nil
	case <-t.C:
		return nil, ErrBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// NeedsRehash reports whether encoded is anything but an Argon2id hash
// with this hasher's parameters.
func (h *Hasher) NeedsRehash(encoded string) bool {
	return !strings.HasPrefix(encoded, h.prefix())
}

// prefix is what every hash this hasher makes starts with.
func (h *Hasher) prefix() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$", argon2.Version, h.p.MemoryKiB, h.p.Iterations, h.p.Parallelism)
}

// Hash returns "$argon2id$v=19$m=…,t=…,p=…$salt$key".
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	release, err := h.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	salt := make([]byte, h.p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, h.p.Iterations, h.p.MemoryKiB, h.p.Parallelism, h.p.KeyLen)
	b64 := base64.RawStdEncoding
	return h.prefix() + b64.EncodeToString(salt) + "$" + b64.EncodeToString(key), nil
}

// ErrMalformed is returned for a string that is not an Argon2id PHC hash.
var ErrMalformed = errors.New("argon2id: malformed hash")

// Limits on the parameters a stored hash may name: a row written by
// someone else must not make one login allocate gigabytes or spin for
// minutes.
const (
	maxMemoryKiB   = 1 << 20 // 1 GiB
	maxIterations  = 16
	maxParallelism = 16
	maxKeyLen      = 128
)

// PHC is a parsed Argon2 PHC string.
type PHC struct {
	Variant   string // "argon2id" or "argon2i"
	Params    Params
	Salt, Key []byte
}

// ParsePHC reads "$argon2id$v=19$m=…,t=…,p=…$salt$key" (or "$argon2i$…"),
// refusing parameters over the limits above with ErrMalformed.
func ParsePHC(encoded string) (PHC, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || (parts[1] != "argon2id" && parts[1] != "argon2i") ||
		parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return PHC{}, ErrMalformed
	}
	out := PHC{Variant: parts[1]}
	p := &out.Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Iterations, &p.Parallelism); err != nil ||
		parts[3] != fmt.Sprintf("m=%d,t=%d,p=%d", p.MemoryKiB, p.Iterations, p.Parallelism) ||
		p.MemoryKiB == 0 || p.MemoryKiB > maxMemoryKiB || p.Iterations == 0 || p.Iterations > maxIterations ||
		p.Parallelism == 0 || p.Parallelism > maxParallelism {
		return PHC{}, ErrMalformed
	}
	b64 := base64.RawStdEncoding
	var err error
	if out.Salt, err = b64.DecodeString(parts[4]); err != nil {
		return PHC{}, ErrMalformed
	}
	if out.Key, err = b64.DecodeString(parts[5]); err != nil || len(out.Key) == 0 || len(out.Key) > maxKeyLen {
		return PHC{}, ErrMalformed
	}
	return out, nil
}

// Verify recomputes the key with the parameters stored in encoded and
// compares in constant time. It also takes Argon2i strings, which migrated
// users bring (package legacyhash); either holds one of the hasher's slots
// while it runs, as its memory needs.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (bool, error) {
	phc, err := ParsePHC(encoded)
	if err != nil {
		return false, ErrMalformed
	}
	p, salt, want := phc.Params, phc.Salt, phc.Key
	key := argon2.IDKey
	if phc.Variant == "argon2i" {
		key = argon2.Key
	}
	release, err := h.acquire(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	got := key([]byte(password), salt, p.Iterations, p.MemoryKiB, p.Parallelism, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
