package target_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/fsblob"
	"github.com/lattice-platform/lattice/pkg/adapters/hashembed"
	"github.com/lattice-platform/lattice/pkg/adapters/tokenbucket"
	"github.com/lattice-platform/lattice/pkg/platform/config"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/pkg/target"
	"github.com/lattice-platform/lattice/pkg/testinfra"
)

func settings(t *testing.T, env map[string]string) target.Settings {
	t.Helper()
	e := config.FromMap(env)
	s := target.ReadSettings(e, []target.Target{{Name: "auth", Port: 8081}, {Name: "resource", Port: 8082}, {Name: "gateway", Port: 8080}})
	require.NoError(t, e.Err())
	return s
}

func TestUpstreamsAreTheTargetsRunningHere(t *testing.T) {
	s := settings(t, map[string]string{"LEGACY_BASE_URL": "http://legacy.internal/", "RESOURCE_URL": "http://resource.internal:80"})
	alone := target.NewPlatform(context.Background(), s, []string{"gateway"}, slog.New(slog.DiscardHandler))
	require.Equal(t, map[string]string{"auth": "http://127.0.0.1:8081", "resource": "http://resource.internal:80",
		"legacy": "http://legacy.internal"}, alone.Upstreams(), "a lone gateway proxies to every configured URL")
	together := target.NewPlatform(context.Background(), s, []string{"auth", "gateway"}, slog.New(slog.DiscardHandler))
	require.Equal(t, map[string]string{"auth": "http://127.0.0.1:8081", "legacy": "http://legacy.internal"}, together.Upstreams(),
		"in one process, only to what runs there (and the monolith)")
}

func TestOtherServicesUseTheFirstReplica(t *testing.T) {
	p := target.NewPlatform(context.Background(), settings(t, map[string]string{
		"RESOURCE_URL": "http://r1:8082,http://r2:8082", "AUTH_URL": "dns+https://auth:8081"}), nil, slog.New(slog.DiscardHandler))
	require.Equal(t, "http://r1:8082", p.URL("resource"))
	require.Equal(t, "https://auth:8081", p.URL("auth"), "a DNS pool's name, as the resolver answers it")
}

func TestCredentialsAreProvisionedOnceWhenNotConfigured(t *testing.T) {
	p := target.NewPlatform(context.Background(), settings(t, nil), []string{"auth"}, slog.New(slog.DiscardHandler))
	calls := 0
	p.ProvideServiceClient(func(context.Context) (string, string, error) { calls++; return "svc", "s3cret", nil })
	for range 2 {
		id, secret, err := p.Credentials()
		require.NoError(t, err)
		require.Equal(t, [2]string{"svc", "s3cret"}, [2]string{id, secret})
	}
	require.Equal(t, 1, calls)

	configured := target.NewPlatform(context.Background(), settings(t, map[string]string{
		"LATTICE_SERVICE_CLIENT_ID": "ops", "LATTICE_SERVICE_CLIENT_SECRET": "x"}), nil, slog.New(slog.DiscardHandler))
	configured.ProvideServiceClient(func(context.Context) (string, string, error) {
		t.Fatal("configured credentials win")
		return "", "", nil
	})
	id, _, err := configured.Credentials()
	require.NoError(t, err)
	require.Equal(t, "ops", id)

	none := target.NewPlatform(context.Background(), settings(t, nil), nil, slog.New(slog.DiscardHandler))
	_, err = none.ServiceClient()
	require.ErrorContains(t, err, "LATTICE_SERVICE_CLIENT_ID", "a target that needs a service client says how to give it one")
}

func TestSharedPartsFollowTheSettings(t *testing.T) {
	dir := t.TempDir()
	p := target.NewPlatform(context.Background(), settings(t, map[string]string{"LATTICE_DATA_DIR": dir}), nil, slog.New(slog.DiscardHandler))
	blobs, err := p.Blobs()
	require.NoError(t, err)
	require.IsType(t, &fsblob.Store{}, blobs)
	require.DirExists(t, filepath.Join(dir, "blobs"))
	again, _ := p.Blobs()
	require.Same(t, blobs, again, "made once")
	emb, err := p.Embedder()
	require.NoError(t, err)
	require.IsType(t, hashembed.Embedder{}, emb)
	lim, err := p.Limiter()
	require.NoError(t, err)
	require.IsType(t, &tokenbucket.Limiter{}, lim)

	half := target.NewPlatform(context.Background(), settings(t, map[string]string{"EMBEDDINGS_URL": "http://127.0.0.1:1"}), nil, slog.New(slog.DiscardHandler))
	_, err = half.Embedder()
	require.ErrorContains(t, err, "EMBEDDINGS_MODEL")
	// With Redis, limits survive its outages: the Redis limiter comes
	// wrapped in the per-process fallback (not dialled until used).
	shared := target.NewPlatform(context.Background(), settings(t, map[string]string{"REDIS_URL": "redis://" + testinfra.ClosedAddr(t)}), nil, slog.New(slog.DiscardHandler))
	defer shared.Close() // and its Redis client
	lim, err = shared.Limiter()
	require.NoError(t, err)
	require.IsType(t, &tokenbucket.Fallback{}, lim)
	d, err := lim.Allow(context.Background(), "k", ports.RateLimit{Rate: 1, Period: time.Hour, Burst: 1})
	require.NoError(t, err, "Redis is down; the process decides")
	require.True(t, d.Allowed)

	bad := target.NewPlatform(context.Background(), settings(t, map[string]string{"REDIS_URL": "tcp://x"}), nil, slog.New(slog.DiscardHandler))
	_, err = bad.Limiter()
	require.ErrorContains(t, err, "REDIS_URL")
}

// TestProfilingIsOffUnlessAskedFor: ADMIN_PPROF takes true or false only.
func TestProfilingIsOffUnlessAskedFor(t *testing.T) {
	require.False(t, settings(t, nil).AdminProfiling)
	require.True(t, settings(t, map[string]string{"ADMIN_PPROF": "true"}).AdminProfiling)
	e := config.FromMap(map[string]string{"ADMIN_PPROF": "yes"})
	target.ReadSettings(e, nil)
	require.ErrorContains(t, e.Err(), "ADMIN_PPROF")
}

// TestBackgroundPercentIsAPercent: LATTICE_BACKGROUND_PERCENT takes 1 to
// 100, and the platform's gate is made with it.
func TestBackgroundPercentIsAPercent(t *testing.T) {
	require.Equal(t, 25, settings(t, nil).BackgroundPercent)
	require.Equal(t, 100, settings(t, map[string]string{"LATTICE_BACKGROUND_PERCENT": "100"}).BackgroundPercent)
	for _, bad := range []string{"0", "101", "-5", "half"} {
		e := config.FromMap(map[string]string{"LATTICE_BACKGROUND_PERCENT": bad})
		target.ReadSettings(e, nil)
		require.ErrorContains(t, e.Err(), "LATTICE_BACKGROUND_PERCENT", bad)
	}
	p := target.NewPlatform(context.Background(), settings(t, nil), nil, slog.New(slog.DiscardHandler))
	require.NotNil(t, p.Gate())
}
