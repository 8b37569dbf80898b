package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/lattice-platform/lattice/pkg/events"
	"github.com/lattice-platform/lattice/pkg/events/schema"
	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/resource/domain"
)

// Upload is a file being uploaded: its client-supplied name, the content
// type sniffed from its first bytes by the edge, and the whole stream.
type Upload struct {
	Name    string
	Sniffed string
	Body    io.Reader
}

// errTooLarge marks a stream that ran past the size limit.
var errTooLarge = errors.New("file too large")

type cappedReader struct {
	r    io.Reader
	left int64
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// One more byte exists past the limit: the file is too large.
		var one [1]byte
		if n, _ := c.r.Read(one[:]); n > 0 {
			return 0, errTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// AddFile stores an uploaded file on a resource the caller may change. The
// bytes stream into the blob store while their SHA-256 and size are
// computed; only then is the file recorded (with its file.uploaded event).
// If recording fails, the blob is removed again.
func (s *Service) AddFile(ctx context.Context, c domain.Caller, resourceID string, up Upload) (domain.File, error) {
	r, err := s.Get(ctx, c, resourceID)
	if err != nil {
		return domain.File{}, err
	}
	if err := c.CheckWrite(r); err != nil {
		return domain.File{}, err
	}
	name, err := domain.SanitizeFileName(up.Name)
	if err != nil {
		return domain.File{}, err
	}
	ctype, err := domain.FileType(up.Sniffed, name)
	if err != nil {
		return domain.File{}, err
	}
	id := uuid.Must(uuid.NewV7()).String()
	key := "resources/" + resourceID + "/files/" + id
	hash := sha256.New()
	size, err := s.deps.Blobs.Put(ctx, key, io.TeeReader(&cappedReader{r: up.Body, left: s.deps.MaxFileSize}, hash), ctype)
	if err != nil {
		_ = s.deps.Blobs.Delete(context.WithoutCancel(ctx), key)
		if errors.Is(err, errTooLarge) {
			return domain.File{}, fault.New(fault.TooLarge, fmt.Sprintf("files are limited to %d bytes", s.deps.MaxFileSize))
		}
		return domain.File{}, fault.Wrap(fault.Unavailable, "the file could not be stored", err)
	}
	f := domain.File{ID: id, ResourceID: resourceID, Name: name, ContentType: ctype, Size: size,
		SHA256: hex.EncodeToString(hash.Sum(nil)), BlobKey: key, CreatedAt: s.deps.Clock.Now(), Status: domain.FileStored}
	err = s.commit(ctx, func(ctx context.Context) (evs []ports.Event, err error) {
		err = s.deps.Files.AddFile(ctx, f, func(parent domain.Resource) error {
			if err := c.CheckWrite(parent); err != nil {
				return err
			}
			ev, err := events.New(Source, schema.CloudEventTypeFileUploaded, f.ID, f.CreatedAt, schema.FileUploaded{
				Id: f.ID, ResourceId: f.ResourceID, OwnerId: parent.OwnerID, Name: f.Name, ContentType: f.ContentType,
				Size: f.Size, Sha256: f.SHA256, CreatedAt: f.CreatedAt,
			})
			if err != nil {
				return err
			}
			evs, err = withAudit([]ports.Event{ev}, c, "file.upload", "resource/"+f.ResourceID+"/files/"+f.ID, parent.OwnerID, f.CreatedAt,
				map[string]any{"name": f.Name, "content_type": f.ContentType, "size": f.Size, "sha256": f.SHA256})
			return err
		})
		return evs, err
	})
	if err != nil {
		// Compensate: nothing refers to the blob.
		_ = s.deps.Blobs.Delete(context.WithoutCancel(ctx), key)
		return domain.File{}, err
	}
	return f, nil
}

// Files lists the files of a resource the caller may read.
func (s *Service) Files(ctx context.Context, c domain.Caller, resourceID string) ([]domain.File, error) {
	if _, err := s.Get(ctx, c, resourceID); err != nil {
		return nil, err
	}
	return s.deps.Files.Files(ctx, resourceID)
}

// File returns one file of a resource the caller may read.
func (s *Service) File(ctx context.Context, c domain.Caller, resourceID, fileID string) (domain.File, error) {
	if _, err := s.Get(ctx, c, resourceID); err != nil {
		return domain.File{}, err
	}
	return s.deps.Files.File(ctx, resourceID, fileID)
}

// OpenFile returns length bytes of a file's content from offset (length <
// 0: to the end).
func (s *Service) OpenFile(ctx context.Context, f domain.File, offset, length int64) (io.ReadCloser, error) {
	rc, err := s.deps.Blobs.Open(ctx, f.BlobKey, offset, length)
	if errors.Is(err, ports.ErrBlobNotFound) {
		return nil, fault.Wrap(fault.Internal, "the file's content is missing", err)
	}
	return rc, err
}

// DeleteFile removes a file from a resource the caller may change. The
// blob itself is removed by Purge after the grace period.
func (s *Service) DeleteFile(ctx context.Context, c domain.Caller, resourceID, fileID string) error {
	now := s.deps.Clock.Now()
	err := s.commit(ctx, func(ctx context.Context) (evs []ports.Event, err error) {
		err = s.deps.Files.DeleteFile(ctx, resourceID, fileID, now, func(parent domain.Resource, f domain.File) error {
			if err := c.CheckWrite(parent); err != nil {
				return err
			}
			ev, err := events.New(Source, schema.CloudEventTypeFileDeleted, f.ID, now, schema.FileDeleted{Id: f.ID, ResourceId: f.ResourceID, DeletedAt: now})
			if err != nil {
				return err
			}
			evs, err = withAudit([]ports.Event{ev}, c, "file.delete", "resource/"+f.ResourceID+"/files/"+f.ID, parent.OwnerID, now, nil)
			return err
		})
		return evs, err
	})
	if errors.Is(err, domain.ErrFileNotFound) || errors.Is(err, domain.ErrNotFound) {
		// Do not reveal whether a resource the caller cannot read exists.
		if _, gerr := s.Get(ctx, c, resourceID); gerr != nil {
			return gerr
		}
	}
	return err
}

// Purge finishes deletions older than grace: blobs of deleted files and of
// deleted resources' files, then their rows, then the resources. It is the
// last step of the deletion saga (docs/deletion.md) and safe to run on
// several replicas at once.
func (s *Service) Purge(ctx context.Context, grace time.Duration) (files, resources int, err error) {
	cutoff := s.deps.Clock.Now().Add(-grace)
	for {
		due, err := s.deps.Purger.PurgeableFiles(ctx, cutoff, 200)
		if err != nil {
			return files, resources, err
		}
		if len(due) == 0 {
			break
		}
		ids := make([]string, 0, len(due))
		for _, f := range due {
			if err := s.deps.Blobs.Delete(ctx, f.BlobKey); err != nil {
				return files, resources, err
			}
			ids = append(ids, f.ID)
		}
		if err := s.deps.Purger.ForgetFiles(ctx, ids); err != nil {
			return files, resources, err
		}
		files += len(ids)
		if len(due) < 200 {
			break
		}
	}
	for {
		n, err := s.deps.Purger.PurgeResources(ctx, cutoff, 200)
		if err != nil {
			return files, resources, err
		}
		resources += n
		if n < 200 {
			return files, resources, nil
		}
	}
}

// RejectFile records that processing could not read a file — the
// compensating step of the upload saga, driven by file.rejected events.
// Repeating it (a redelivered event) changes nothing; a file deleted since
// is not an error.
func (s *Service) RejectFile(ctx context.Context, resourceID, fileID, reason string) error {
	err := s.deps.Files.RejectFile(ctx, resourceID, fileID, reason)
	if errors.Is(err, domain.ErrFileNotFound) {
		return nil
	}
	return err
}
