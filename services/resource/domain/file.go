package domain

import (
	"path"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/lattice-platform/lattice/pkg/fault"
)

// File is a blob attached to a resource. The bytes live in a BlobStore
// under BlobKey; the row records what was checked on upload.
type File struct {
	ID          string
	ResourceID  string
	Name        string // sanitised; safe in a Content-Disposition header
	ContentType string // sniffed and allow-listed
	Size        int64
	SHA256      string // hex
	BlobKey     string
	CreatedAt   time.Time
	Status      FileStatus
	// RejectedReason says why processing refused the file.
	RejectedReason string
}

// FileStatus is a file's processing outcome.
type FileStatus string

// The statuses: stored on upload; rejected when processing cannot read it
// (the compensating step of the upload saga).
const (
	FileStored   FileStatus = "stored"
	FileRejected FileStatus = "rejected"
)

// FileTypes are the content types a file may have.
var FileTypes = []string{
	"text/plain", "text/markdown", "text/csv", "text/html", "application/json",
	"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp",
}

// Errors the file rules return.
var (
	ErrFileNotFound     = fault.New(fault.NotFound, "file not found")
	ErrFileTypeRejected = fault.New(fault.UnsupportedMedia, "this file type is not accepted; allowed: "+strings.Join(FileTypes, ", "))
)

// SanitizeFileName keeps the last path element of a client-supplied name
// and removes what could make it dangerous: directory parts (no path
// traversal), control and format characters, quotes and leading dots.
func SanitizeFileName(raw string) (string, error) {
	name := raw
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r), r == '"', r == utf8.RuneError:
			return -1
		}
		return r
	}, name)
	name = strings.TrimLeft(strings.TrimSpace(name), ".")
	for len(name) > 255 {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	if name == "" {
		return "", fault.InvalidField("name", "must name a file")
	}
	return name, nil
}

// FileType decides a file's content type from what sniffing the first
// bytes found and the file name's extension. Sniffing cannot tell text
// formats apart, so for text the extension refines it; for binary
// formats the sniffed type wins whatever the name says.
func FileType(sniffed, name string) (string, error) {
	base := strings.TrimSpace(strings.SplitN(sniffed, ";", 2)[0])
	if base == "text/plain" {
		switch strings.ToLower(path.Ext(name)) {
		case ".md", ".markdown":
			base = "text/markdown"
		case ".csv":
			base = "text/csv"
		case ".json":
			base = "application/json"
		case ".html", ".htm":
			base = "text/html"
		}
	}
	if !slices.Contains(FileTypes, base) {
		return "", ErrFileTypeRejected
	}
	return base, nil
}

// TruncateReason keeps a rejection reason within its 500-character column.
func TruncateReason(s string) string {
	if utf8.RuneCountInString(s) <= 500 {
		return s
	}
	return string([]rune(s)[:499]) + "…"
}
