// Package config reads settings from environment variables with defaults,
// collecting every malformed value into one error so an operator fixes them
// all in one go instead of one per restart.
package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// Env reads variables through Lookup (os.LookupEnv by default; tests pass
// a map) and remembers what was malformed.
type Env struct {
	Lookup func(string) (string, bool)
	errs   []error
}

// FromOS reads the process environment.
func FromOS() *Env { return &Env{Lookup: os.LookupEnv} }

// FromMap reads m, for tests.
func FromMap(m map[string]string) *Env {
	return &Env{Lookup: func(k string) (string, bool) { v, ok := m[k]; return v, ok }}
}

// String returns the variable or def when it is unset or empty.
func (e *Env) String(key, def string) string {
	if v, ok := e.Lookup(key); ok && v != "" {
		return v
	}
	return def
}

// Duration parses a Go duration ("15m", "24h").
func (e *Env) Duration(key string, def time.Duration) time.Duration {
	v := e.String(key, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		e.errs = append(e.errs, fmt.Errorf("%s=%q: want a positive duration such as 15m", key, v))
		return def
	}
	return d
}

// Int parses a positive integer.
func (e *Env) Int(key string, def int) int {
	v := e.String(key, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		e.errs = append(e.errs, fmt.Errorf("%s=%q: want a positive integer", key, v))
		return def
	}
	return n
}

// MaxSecretFile bounds a secret file: secrets are short, and a setting
// pointed at the wrong file must not read a whole disk image.
const MaxSecretFile = 64 << 10

// Secret is String for a secret: it also reads the value from the file
// KEY_FILE names (a Kubernetes secret, a Vault agent's file), without its
// trailing newline. Setting both is an error. Neither the value nor the
// file's content ever appears in an error.
func (e *Env) Secret(key, def string) string {
	path := e.String(key+"_FILE", "")
	if path == "" {
		return e.String(key, def)
	}
	if v, ok := e.Lookup(key); ok && v != "" {
		e.errs = append(e.errs, fmt.Errorf("%s_FILE: set it or %s, not both", key, key))
		return def
	}
	f, err := os.Open(path)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s_FILE: %w", key, err))
		return def
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxSecretFile+1))
	switch {
	case err != nil:
		e.errs = append(e.errs, fmt.Errorf("%s_FILE: read %s failed", key, path))
		return def
	case len(b) > MaxSecretFile:
		e.errs = append(e.errs, fmt.Errorf("%s_FILE: %s is larger than %d bytes", key, path, MaxSecretFile))
		return def
	}
	v := strings.TrimRight(string(b), "\r\n")
	if v == "" {
		return def
	}
	return v
}

// Base64Key decodes a standard-base64 secret of exactly n bytes (from KEY
// or the file KEY_FILE names), or returns nil when unset. The value never
// appears in the error.
func (e *Env) Base64Key(key string, n int) []byte {
	v := e.Secret(key, "")
	if v == "" {
		return nil
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(b) != n {
		e.errs = append(e.errs, fmt.Errorf("%s: want %d bytes, base64-encoded (openssl rand -base64 %d)", key, n, n))
		return nil
	}
	return b
}

// Invalid records a value of key that its own parser refused.
func (e *Env) Invalid(key string, err error) {
	e.errs = append(e.errs, fmt.Errorf("%s: %w", key, err))
}

// Err returns every problem found so far, or nil.
func (e *Env) Err() error { return errors.Join(e.errs...) }
