package resourcestore

import (
	"context"
	"database/sql"
	"time"

	"github.com/lattice-platform/lattice/pkg/adapters/mysql"
	"github.com/lattice-platform/lattice/pkg/adapters/mysql/resourcestore/internal/resourcedb"
	"github.com/lattice-platform/lattice/services/resource/app"
	"github.com/lattice-platform/lattice/services/resource/domain"
)

var (
	_ app.FileRepository = (*ResourceRepository)(nil)
	_ app.Purger         = (*ResourceRepository)(nil)
)

// AddFile records f under its locked, live parent.
func (rp *ResourceRepository) AddFile(ctx context.Context, f domain.File, check func(domain.Resource) error) error {
	return mysql.Write(ctx, rp.db, func(tx *sql.Tx) error {
		q := rp.q.WithTx(tx)
		parent, err := lockResource(ctx, q, f.ResourceID)
		if err != nil {
			return err
		}
		if err := check(parent); err != nil {
			return err
		}
		return mysql.Translate(q.InsertFile(ctx, resourcedb.InsertFileParams{
			ID: f.ID, ResourceID: f.ResourceID, Name: f.Name, ContentType: f.ContentType, Size: f.Size,
			Sha256: f.SHA256, BlobKey: f.BlobKey, CreatedAt: f.CreatedAt,
		}))
	})
}

func lockResource(ctx context.Context, q *resourcedb.Queries, id string) (domain.Resource, error) {
	row, err := q.ResourceForUpdate(ctx, id)
	if err != nil {
		return domain.Resource{}, mysql.Lookup(err, domain.ErrNotFound)
	}
	return fromRow(row)
}

// Files lists live files.
func (rp *ResourceRepository) Files(ctx context.Context, resourceID string) ([]domain.File, error) {
	rows, err := rp.q.ListFiles(ctx, resourceID)
	if err != nil {
		return nil, mysql.Translate(err)
	}
	return mapRows(rows, fileFromRow), nil
}

// File returns one live file.
func (rp *ResourceRepository) File(ctx context.Context, resourceID, fileID string) (domain.File, error) {
	row, err := rp.q.FileByID(ctx, fileKey(resourceID, fileID))
	if err != nil {
		return domain.File{}, mysql.Lookup(err, domain.ErrFileNotFound)
	}
	return fileFromRow(row), nil
}

func fileKey(resourceID, fileID string) resourcedb.FileByIDParams {
	return resourcedb.FileByIDParams{ID: fileID, ResourceID: resourceID}
}

// DeleteFile soft-deletes a file.
func (rp *ResourceRepository) DeleteFile(ctx context.Context, resourceID, fileID string, at time.Time, check func(domain.Resource, domain.File) error) error {
	return mysql.Write(ctx, rp.db, func(tx *sql.Tx) error {
		q := rp.q.WithTx(tx)
		parent, err := lockResource(ctx, q, resourceID)
		if err != nil {
			return err
		}
		row, err := q.FileByID(ctx, fileKey(resourceID, fileID))
		if err != nil {
			return mysql.Lookup(err, domain.ErrFileNotFound)
		}
		if err := check(parent, fileFromRow(row)); err != nil {
			return err
		}
		return mysql.Translate(q.SoftDeleteFile(ctx, resourcedb.SoftDeleteFileParams{DeletedAt: sql.NullTime{Time: at, Valid: true}, ID: fileID}))
	})
}

// PurgeableFiles lists files whose grace period has passed.
func (rp *ResourceRepository) PurgeableFiles(ctx context.Context, cutoff time.Time, limit int) ([]domain.File, error) {
	rows, err := rp.q.PurgeableFiles(ctx, resourcedb.PurgeableFilesParams{Before: sql.NullTime{Time: cutoff, Valid: true}, Limit: int32(limit)})
	if err != nil {
		return nil, mysql.Translate(err)
	}
	return mapRows(rows, fileFromRow), nil
}

// ForgetFiles hard-deletes file rows.
func (rp *ResourceRepository) ForgetFiles(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	return mysql.Translate(rp.q.HardDeleteFiles(ctx, ids))
}

// PurgeResources hard-deletes deleted resources that have no files left.
func (rp *ResourceRepository) PurgeResources(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	ids, err := rp.q.PurgeableResources(ctx, resourcedb.PurgeableResourcesParams{DeletedAt: sql.NullTime{Time: cutoff, Valid: true}, Limit: int32(limit)})
	if err != nil {
		return 0, mysql.Translate(err)
	}
	for _, id := range ids {
		err := mysql.InTx(ctx, rp.db, func(tx *sql.Tx) error {
			q := rp.q.WithTx(tx)
			for _, del := range []func(context.Context, string) error{q.DeleteTags, q.DeleteMetadata, q.HardDeleteVersions, q.HardDeleteResourceRows} {
				if err := del(ctx, id); err != nil {
					return mysql.Translate(err)
				}
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

func fileFromRow(r resourcedb.ResourceFile) domain.File {
	return domain.File{
		ID: r.ID, ResourceID: r.ResourceID, Name: r.Name, ContentType: r.ContentType, Size: r.Size,
		SHA256: r.Sha256, BlobKey: r.BlobKey, CreatedAt: r.CreatedAt.UTC(),
		Status: domain.FileStatus(r.Status), RejectedReason: r.RejectedReason.String,
	}
}

// RejectFile marks a file rejected.
func (rp *ResourceRepository) RejectFile(ctx context.Context, resourceID, fileID, reason string) error {
	if _, err := rp.q.FileByID(ctx, fileKey(resourceID, fileID)); err != nil {
		return mysql.Lookup(err, domain.ErrFileNotFound)
	}
	_, err := rp.q.RejectFile(ctx, resourcedb.RejectFileParams{RejectedReason: sql.NullString{String: domain.TruncateReason(reason), Valid: true},
		ID: fileID, ResourceID: resourceID})
	return mysql.Translate(err)
}

// mapRows maps sqlc rows to domain values.
func mapRows[R, D any](rows []R, f func(R) D) []D {
	out := make([]D, len(rows))
	for i, r := range rows {
		out[i] = f(r)
	}
	return out
}
