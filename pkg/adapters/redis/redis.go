// Package redis is what Lattice's Redis adapters share, over go-redis v9:
// the rate limiter whose budgets every gateway replica shares, readiness,
// and translating failures into the fault taxonomy. The auth service's
// session store is beneath it (sessionstore).
package redis

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/platform/lazydeadline"
	"github.com/lattice-platform/lattice/pkg/platform/tlsfiles"
)

// Ping is a readiness check.
func Ping(rdb goredis.UniversalClient) func(context.Context) error {
	return func(ctx context.Context) error { return rdb.Ping(ctx).Err() }
}

// Unavailable is a Redis failure as the fault taxonomy sees it: the store
// could not answer, so the caller may retry.
func Unavailable(err error) error {
	return fault.Wrap(fault.Unavailable, "the session store is unavailable", err)
}

// Options parses a REDIS_URL (redis:// or rediss:// for TLS). With caFile
// set, a rediss:// server is verified against that CA only (TLS 1.2 at
// least); otherwise against the system's roots. Errors never echo the URL,
// which may hold a password.
func Options(rawURL, caFile string) (*goredis.Options, error) {
	opts, err := goredis.ParseURL(rawURL)
	if err != nil {
		return nil, errors.New("REDIS_URL is not a redis:// or rediss:// URL")
	}
	failFast(opts)
	if opts.TLSConfig == nil {
		// Deadlines set lazily (ADR 0048): go-redis clears a connection's
		// deadlines whenever it takes it from its pool and sets one before
		// each write and each read, up to four timer operations a command,
		// and the gateway's rate limiter sends one under every request's
		// budgets (bench/gateway -callgrind -redis: 2 % of the gateway's
		// instructions a request, docs/benchmarks.md). go-redis's check of
		// an idle connection still reaches its socket, through the
		// wrapper's SyscallConn. A TLS connection is left as go-redis makes
		// it: under TLS a write that times out, even early, breaks it.
		opts.Dialer = lazydeadline.Dialer(goredis.NewDialer(opts))
	}
	if caFile == "" {
		return opts, nil
	}
	if opts.TLSConfig == nil {
		return nil, errors.New("REDIS_TLS_CA_FILE needs a rediss:// REDIS_URL")
	}
	pool, err := tlsfiles.Pool(caFile)
	if err != nil {
		return nil, fmt.Errorf("REDIS_TLS_CA_FILE: %w", err)
	}
	opts.TLSConfig.RootCAs, opts.TLSConfig.MinVersion = pool, tls.VersionTLS12
	return opts, nil
}

// failFast bounds what one command may cost while Redis is away (stopped,
// restarting, its name not resolving), unless the URL sets its own values:
// a session check or a rate-limit decision then fails within seconds, in
// time for the caller's own deadline, instead of after go-redis's defaults
// (five dial attempts per try, three retries, five-second dials).
func failFast(o *goredis.Options) {
	if o.DialTimeout == 0 {
		o.DialTimeout = time.Second
	}
	if o.ReadTimeout == 0 {
		o.ReadTimeout = time.Second
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = time.Second
	}
	if o.PoolTimeout == 0 {
		o.PoolTimeout = 2 * time.Second
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = 1
	}
	if o.DialerRetries == 0 {
		o.DialerRetries = 1
	}
}
