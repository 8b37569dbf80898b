package analyticssvc

import (
	"crypto/ed25519"
	"encoding/base64"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/platform/config"
	"github.com/lattice-platform/lattice/pkg/target"
)

func TestLocalAuditKeyIsMadeOnceOutsideTheDatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	log := slog.New(slog.DiscardHandler)
	first, err := localAuditKey(dir, log)
	require.NoError(t, err)
	require.Len(t, first, ed25519.SeedSize)
	info, err := os.Stat(filepath.Join(dir, "audit-signing-key"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	again, err := localAuditKey(dir, log)
	require.NoError(t, err)
	require.Equal(t, first, again, "kept across restarts")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "audit-signing-key"), []byte("not a key"), 0o600))
	_, err = localAuditKey(dir, log)
	require.Error(t, err, "a damaged key file is not silently replaced")
}

func TestAuditKeySettings(t *testing.T) {
	t.Parallel()
	seed := make([]byte, ed25519.SeedSize)
	seed[0] = 9
	file := filepath.Join(t.TempDir(), "seed")
	require.NoError(t, os.WriteFile(file, []byte(base64.StdEncoding.EncodeToString(seed)+"\n"), 0o600))
	pub, _, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	env := config.FromMap(map[string]string{"ANALYTICS_AUDIT_SIGNING_KEY_FILE": file,
		"ANALYTICS_AUDIT_TRUSTED_KEYS": " " + base64.StdEncoding.EncodeToString(pub) + " ,"})
	got, trusted := auditKeySettings(env)
	require.NoError(t, env.Err())
	require.Equal(t, seed, got)
	require.Equal(t, []ed25519.PublicKey{pub}, trusted)

	secret := base64.StdEncoding.EncodeToString([]byte("a secret that is not 32 bytes"))
	bad := filepath.Join(t.TempDir(), "bad")
	require.NoError(t, os.WriteFile(bad, []byte(secret), 0o600))
	env = config.FromMap(map[string]string{"ANALYTICS_AUDIT_SIGNING_KEY_FILE": bad, "ANALYTICS_AUDIT_TRUSTED_KEYS": "AAAA"})
	auditKeySettings(env)
	require.Error(t, env.Err())
	require.NotContains(t, env.Err().Error(), secret, "the secret never appears in the error")
	require.Contains(t, env.Err().Error(), "ANALYTICS_AUDIT_TRUSTED_KEYS")
}

func TestCheckpointSinkSetting(t *testing.T) {
	t.Parallel()
	loadConfig := func(env *config.Env) (Config, error) {
		c := LoadConfig(env, target.ReadSettings(env, nil))
		return c, env.Err()
	}
	_, err := loadConfig(config.FromMap(map[string]string{"ANALYTICS_AUDIT_CHECKPOINT_SINK": "s3"}))
	require.ErrorContains(t, err, "S3_ENDPOINT")
	_, err = loadConfig(config.FromMap(map[string]string{"ANALYTICS_AUDIT_CHECKPOINT_SINK": "disk"}))
	require.ErrorContains(t, err, "want jetstream or s3")
	cfg, err := loadConfig(config.FromMap(map[string]string{"ANALYTICS_AUDIT_CHECKPOINT_SINK": "s3",
		"S3_ENDPOINT": "http://127.0.0.1:7070", "ANALYTICS_AUDIT_CHECKPOINT_BUCKET": "audit"}))
	require.NoError(t, err)
	require.Equal(t, "audit", cfg.CheckpointS3.Bucket)
	require.Equal(t, "http://127.0.0.1:7070", cfg.CheckpointS3.Endpoint)
}
