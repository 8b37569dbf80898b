package domain

import (
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lattice-platform/lattice/pkg/fault"
)

// Visibility says who may read a resource.
type Visibility string

// The visibilities. Writes are always the owner's (or an admin's).
const (
	Private  Visibility = "private"  // the owner only
	Internal Visibility = "internal" // any authenticated caller
	Public   Visibility = "public"   // anyone, anonymous callers included
)

// Valid reports whether v is a known visibility.
func (v Visibility) Valid() bool { return v == Private || v == Internal || v == Public }

// Resource is a piece of content with metadata. Version counts its states
// from 1 and is its ETag.
type Resource struct {
	ID          string
	OwnerID     string
	Title       string
	Body        string
	ContentType string
	Metadata    map[string]string
	Tags        []string
	Visibility  Visibility
	Version     int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Limits; openapi/resource.yaml states the same numbers.
const (
	MaxTitleLen       = 300
	MaxBodyBytes      = 256 << 10
	MaxMetadataKeys   = 50
	MaxMetadataKeyLen = 64
	MaxMetadataValLen = 1024
	MaxMetadataBytes  = 16 << 10
	MaxTags           = 20
	MaxTagLen         = 64
)

// ContentTypes a resource body may have.
var ContentTypes = []string{"text/plain", "text/markdown"}

var (
	tagPattern     = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
	metaKeyPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
)

// Errors the resource rules return.
var (
	ErrNotFound        = fault.New(fault.NotFound, "resource not found")
	ErrVersionMismatch = fault.New(fault.PreconditionFailed, "the resource has changed: If-Match does not match its current ETag")
	ErrIfMatchRequired = fault.New(fault.PreconditionNeeded, "this operation requires an If-Match header with the resource's ETag")
)

// Validate checks every field rule and normalises tags (trimmed, lower
// case, sorted, deduplicated).
func (r *Resource) Validate() error {
	r.Title = strings.TrimSpace(r.Title)
	switch {
	case r.Title == "":
		return fault.InvalidField("title", "is required")
	case utf8.RuneCountInString(r.Title) > MaxTitleLen:
		return fault.InvalidField("title", "must be at most 300 characters")
	case len(r.Body) > MaxBodyBytes:
		return fault.InvalidField("body", "must be at most 262144 bytes")
	case !utf8.ValidString(r.Body) || !utf8.ValidString(r.Title):
		return fault.InvalidField("body", "must be valid UTF-8")
	case !slices.Contains(ContentTypes, r.ContentType):
		return fault.InvalidField("content_type", "must be text/plain or text/markdown")
	case !r.Visibility.Valid():
		return fault.InvalidField("visibility", "must be private, internal or public")
	}
	if err := checkMetadata(r.Metadata); err != nil {
		return err
	}
	tags, err := NormalizeTags(r.Tags)
	if err != nil {
		return err
	}
	r.Tags = tags
	if r.Metadata == nil {
		r.Metadata = map[string]string{}
	}
	return nil
}

func checkMetadata(m map[string]string) error {
	if len(m) > MaxMetadataKeys {
		return fault.InvalidField("metadata", "must have at most 50 keys")
	}
	size := 0
	for k, v := range m {
		if len(k) > MaxMetadataKeyLen || !metaKeyPattern.MatchString(k) {
			return fault.InvalidField("metadata", "keys must be 1 to 64 characters of letters, digits, '.', '_' or '-'")
		}
		if len(v) > MaxMetadataValLen || !utf8.ValidString(v) {
			return fault.InvalidField("metadata", "values must be UTF-8 strings of at most 1024 bytes")
		}
		size += len(k) + len(v)
	}
	if size > MaxMetadataBytes {
		return fault.InvalidField("metadata", "must be at most 16 KiB in all")
	}
	return nil
}

// NormalizeTags trims, lower-cases, sorts and deduplicates tags.
func NormalizeTags(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, t := range in {
		t = strings.ToLower(strings.TrimSpace(t))
		if len(t) > MaxTagLen || !tagPattern.MatchString(t) {
			return nil, fault.InvalidField("tags", "tags must be 1 to 64 characters of a-z, 0-9, '.', '_' or '-'")
		}
		out = append(out, t)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > MaxTags {
		return nil, fault.InvalidField("tags", "at most 20 tags")
	}
	return out, nil
}

// Patch is a JSON merge patch (RFC 7396) of a resource's editable fields:
// nil pointers leave a field alone; in Metadata a nil value deletes the key.
type Patch struct {
	Title       *string
	Body        *string
	ContentType *string
	Visibility  *Visibility
	Tags        *[]string
	Metadata    map[string]*string
	// MetadataSet distinguishes "metadata": null (clear all) from absence.
	ClearMetadata bool
}

// Apply returns r changed by p; the caller validates the result.
func (p Patch) Apply(r Resource) Resource {
	if p.Title != nil {
		r.Title = *p.Title
	}
	if p.Body != nil {
		r.Body = *p.Body
	}
	if p.ContentType != nil {
		r.ContentType = *p.ContentType
	}
	if p.Visibility != nil {
		r.Visibility = *p.Visibility
	}
	if p.Tags != nil {
		r.Tags = slices.Clone(*p.Tags)
	}
	meta := make(map[string]string, len(r.Metadata))
	if !p.ClearMetadata {
		for k, v := range r.Metadata {
			meta[k] = v
		}
	}
	for k, v := range p.Metadata {
		if v == nil {
			delete(meta, k)
		} else {
			meta[k] = *v
		}
	}
	r.Metadata = meta
	return r
}
