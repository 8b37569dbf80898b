package analyticssvc

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/lattice-platform/lattice/pkg/platform/config"
)

// auditKeySettings reads the audit checkpoint key settings: the signing
// seed from ANALYTICS_AUDIT_SIGNING_KEY or the file ANALYTICS_AUDIT_SIGNING_KEY_FILE
// names, and the pinned public keys of ANALYTICS_AUDIT_TRUSTED_KEYS.
func auditKeySettings(env *config.Env) (seed []byte, trusted []ed25519.PublicKey) {
	seed = env.Base64Key("ANALYTICS_AUDIT_SIGNING_KEY", ed25519.SeedSize) // or ANALYTICS_AUDIT_SIGNING_KEY_FILE
	for _, k := range strings.Split(env.String("ANALYTICS_AUDIT_TRUSTED_KEYS", ""), ",") {
		if k = strings.TrimSpace(k); k == "" {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(k)
		if err != nil || len(b) != ed25519.PublicKeySize {
			env.Invalid("ANALYTICS_AUDIT_TRUSTED_KEYS", fmt.Errorf("want base64 %d-byte Ed25519 public keys separated by commas", ed25519.PublicKeySize))
			continue
		}
		trusted = append(trusted, b)
	}
	return seed, trusted
}

// readSeed reads a base64 seed from a secret file; the value never appears
// in an error.
func readSeed(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, errors.Unwrap(err))
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil || len(b) != ed25519.SeedSize {
		return nil, fmt.Errorf("%s: want a base64 %d-byte Ed25519 seed (openssl rand -base64 32)", path, ed25519.SeedSize)
	}
	return b, nil
}

// localAuditKey is the all-in-one process's signing key when none is
// configured: kept in a file under the data directory, outside the
// database it protects, and made on first start. A service deployed on its
// own has no such fallback: it refuses to start without a configured key.
func localAuditKey(dataDir string, log *slog.Logger) ([]byte, error) {
	path := filepath.Join(dataDir, "audit-signing-key")
	seed, err := readSeed(path)
	if err == nil {
		return seed, nil
	}
	if _, statErr := os.Stat(path); !errors.Is(statErr, fs.ErrNotExist) {
		return nil, err // there, but unreadable or malformed: do not replace it
	}
	seed = make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(seed)+"\n"), 0o600); err != nil {
		return nil, err
	}
	log.Warn("no ANALYTICS_AUDIT_SIGNING_KEY configured: made a development key outside the database; configure one for production", "file", path)
	return seed, nil
}
