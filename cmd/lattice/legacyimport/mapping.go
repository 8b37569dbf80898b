// Package legacyimport is `lattice import`: it copies another system's
// rows, read from its PostgreSQL database without writing to it, into
// Lattice through the services' own import use cases, as a mapping file
// says (ADR 0021). Each row is imported once, keyed by its legacy id, so a
// re-run changes nothing and a killed run resumes by running again; bad
// rows are skipped and reported, never half-imported. Users are built;
// resources and files are not yet (issue 13).
package legacyimport

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"

	"gopkg.in/yaml.v3"
)

// Mapping is the mapping file: for each kind, the source table and the
// column each Lattice field comes from.
type Mapping struct {
	Users *UsersMapping `yaml:"users"`
}

// UsersMapping maps a table of users. Key orders the rows and is their
// legacy id; Admin (a boolean column) and CreatedAt are optional.
type UsersMapping struct {
	Table        string `yaml:"table"`
	Key          string `yaml:"key"`
	Email        string `yaml:"email"`
	DisplayName  string `yaml:"display_name"`
	PasswordHash string `yaml:"password_hash"`
	Admin        string `yaml:"admin"`
	CreatedAt    string `yaml:"created_at"`
}

// MaxMappingFile bounds the mapping file.
const MaxMappingFile = 1 << 20

// identifier is a column or table name, optionally schema-qualified: the
// mapping names identifiers, never SQL.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$`)

// LoadMapping reads and checks a mapping file: unknown keys, missing
// required columns and names that are not plain identifiers are errors.
func LoadMapping(path string) (Mapping, error) {
	f, err := os.Open(path)
	if err != nil {
		return Mapping{}, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, MaxMappingFile+1))
	if err != nil {
		return Mapping{}, err
	}
	if len(raw) > MaxMappingFile {
		return Mapping{}, fmt.Errorf("mapping %s: over %d bytes", path, MaxMappingFile)
	}
	var m Mapping
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		return Mapping{}, fmt.Errorf("mapping %s: %w", path, err)
	}
	if m.Users == nil {
		return Mapping{}, fmt.Errorf("mapping %s: nothing to import (users: is the one kind built so far)", path)
	}
	if err := m.Users.check(); err != nil {
		return Mapping{}, fmt.Errorf("mapping %s: users: %w", path, err)
	}
	return m, nil
}

func (u *UsersMapping) check() error {
	var errs []error
	for _, f := range []struct {
		name, value string
		required    bool
	}{
		{"table", u.Table, true}, {"key", u.Key, true}, {"email", u.Email, true}, {"display_name", u.DisplayName, true},
		{"password_hash", u.PasswordHash, true}, {"admin", u.Admin, false}, {"created_at", u.CreatedAt, false},
	} {
		switch {
		case f.value == "" && f.required:
			errs = append(errs, fmt.Errorf("%s is required", f.name))
		case f.value != "" && !identifier.MatchString(f.value):
			errs = append(errs, fmt.Errorf("%s: %q is not a plain identifier", f.name, f.value))
		}
	}
	return errors.Join(errs...)
}
