// Package legacyimport is `lattice import`: it copies another system's
// rows, read from its PostgreSQL database without writing to it, into
// Lattice through the services' own import use cases, as a mapping file
// says (ADR 0021). Each row is imported once, keyed by its legacy id, so a
// re-run changes nothing and a killed run resumes by running again; bad
// rows are skipped and reported, never half-imported. Users go to auth;
// resources, with their metadata, tags and owners, and files, copied with
// their SHA-256 checked, go to the resource service.
package legacyimport

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"

	"gopkg.in/yaml.v3"
)

// Mapping is the mapping file: for each kind, the source table and the
// column each Lattice field comes from.
type Mapping struct {
	Users     *UsersMapping     `yaml:"users"`
	Resources *ResourcesMapping `yaml:"resources"`
	Files     *FilesMapping     `yaml:"files"`
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

// ResourcesMapping maps a table of resources. Owner holds the legacy id
// of a users row; Metadata is a JSON object column and Tags a JSON array
// or text[] column. Body, Visibility (private, internal or public),
// Metadata, Tags, CreatedAt and UpdatedAt are optional.
type ResourcesMapping struct {
	Table      string `yaml:"table"`
	Key        string `yaml:"key"`
	Owner      string `yaml:"owner"`
	Title      string `yaml:"title"`
	Body       string `yaml:"body"`
	Visibility string `yaml:"visibility"`
	Metadata   string `yaml:"metadata"`
	Tags       string `yaml:"tags"`
	CreatedAt  string `yaml:"created_at"`
	UpdatedAt  string `yaml:"updated_at"`
}

// FilesMapping maps a table of files kept on disk. Resource holds the
// legacy id of a resources row, Path the file's path relative to Root (a
// directory; the --files-dir flag overrides it), and SHA256 its hex
// checksum, which the copy must match.
type FilesMapping struct {
	Table    string `yaml:"table"`
	Key      string `yaml:"key"`
	Resource string `yaml:"resource"`
	Name     string `yaml:"name"`
	Path     string `yaml:"path"`
	SHA256   string `yaml:"sha256"`
	Root     string `yaml:"root"`
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
	if m.Users == nil && m.Resources == nil && m.Files == nil {
		return Mapping{}, fmt.Errorf("mapping %s: nothing to import (name users, resources or files)", path)
	}
	var errs []error
	if m.Users != nil {
		errs = append(errs, prefixed("users", m.Users.check()))
	}
	if m.Resources != nil {
		errs = append(errs, prefixed("resources", m.Resources.check()))
	}
	if m.Files != nil {
		errs = append(errs, prefixed("files", m.Files.check()))
		if m.Files.Root != "" && !filepath.IsAbs(m.Files.Root) {
			m.Files.Root = filepath.Join(filepath.Dir(path), m.Files.Root) // relative to the mapping file
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Mapping{}, fmt.Errorf("mapping %s: %w", path, err)
	}
	return m, nil
}

func prefixed(kind string, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", kind, err)
	}
	return nil
}

// column is one mapped column and whether the mapping must name it.
type column struct {
	name, value string
	required    bool
}

func checkColumns(cols ...column) error {
	var errs []error
	for _, f := range cols {
		switch {
		case f.value == "" && f.required:
			errs = append(errs, fmt.Errorf("%s is required", f.name))
		case f.value != "" && !identifier.MatchString(f.value):
			errs = append(errs, fmt.Errorf("%s: %q is not a plain identifier", f.name, f.value))
		}
	}
	return errors.Join(errs...)
}

func (u *UsersMapping) check() error {
	return checkColumns(column{"table", u.Table, true}, column{"key", u.Key, true}, column{"email", u.Email, true},
		column{"display_name", u.DisplayName, true}, column{"password_hash", u.PasswordHash, true},
		column{"admin", u.Admin, false}, column{"created_at", u.CreatedAt, false})
}

func (r *ResourcesMapping) check() error {
	return checkColumns(column{"table", r.Table, true}, column{"key", r.Key, true}, column{"owner", r.Owner, true},
		column{"title", r.Title, true}, column{"body", r.Body, false}, column{"visibility", r.Visibility, false},
		column{"metadata", r.Metadata, false}, column{"tags", r.Tags, false},
		column{"created_at", r.CreatedAt, false}, column{"updated_at", r.UpdatedAt, false})
}

func (f *FilesMapping) check() error {
	return checkColumns(column{"table", f.Table, true}, column{"key", f.Key, true}, column{"resource", f.Resource, true},
		column{"name", f.Name, true}, column{"path", f.Path, true}, column{"sha256", f.SHA256, true})
}
