package resourcestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/lattice-platform/lattice/pkg/adapters/mysql"
	"github.com/lattice-platform/lattice/pkg/adapters/mysql/resourcestore/internal/resourcedb"
	"github.com/lattice-platform/lattice/services/resource/app"
)

var _ app.Importer = (*ResourceRepository)(nil)

// Imported returns those of legacyIDs imported before, with their ids.
func (rp *ResourceRepository) Imported(ctx context.Context, kind string, legacyIDs []string) (map[string]string, error) {
	out := make(map[string]string, len(legacyIDs))
	if len(legacyIDs) == 0 {
		return out, nil
	}
	q := rp.q
	if tx, ok := mysql.Tx(ctx); ok {
		q = q.WithTx(tx)
	}
	rows, err := q.LegacyIDs(ctx, resourcedb.LegacyIDsParams{Kind: kind, LegacyIds: legacyIDs})
	if err != nil {
		return nil, mysql.Translate(err)
	}
	for _, r := range rows {
		out[r.LegacyID] = r.ID
	}
	return out, nil
}

// ImportResources writes the whole batch with one multi-row INSERT per
// table: an import's rate is bound by round trips, not rows.
func (rp *ResourceRepository) ImportResources(ctx context.Context, rs []app.LegacyResource, at time.Time) error {
	if len(rs) == 0 {
		return nil
	}
	var resources, versions, tags, metadata, legacy [][]any
	for _, lr := range rs {
		r := lr.Resource
		meta, tagsJSON, err := encodeSets(r)
		if err != nil {
			return err
		}
		snap, err := json.Marshal(snapshotOf(r))
		if err != nil {
			return err
		}
		resources = append(resources, []any{r.ID, r.OwnerID, r.Title, r.Body, r.ContentType, meta, tagsJSON,
			string(r.Visibility), r.Version, r.CreatedAt, r.UpdatedAt})
		versions = append(versions, []any{r.ID, r.Version, snap, r.UpdatedAt})
		tags, metadata = indexRows(r, tags, metadata)
		legacy = append(legacy, []any{app.LegacyResourceKind, lr.LegacyID, r.ID, at})
	}
	return mysql.Write(ctx, rp.db, func(tx *sql.Tx) error {
		for _, t := range []struct {
			table   string
			columns []string
			rows    [][]any
		}{
			{"legacy_ids", []string{"kind", "legacy_id", "id", "imported_at"}, legacy}, // first: a repeat fails before the rest is sent
			{"resources", []string{"id", "owner_id", "title", "body", "content_type", "metadata", "tags", "visibility", "version", "created_at", "updated_at"}, resources},
			{"resource_versions", []string{"resource_id", "version", "snapshot", "created_at"}, versions},
		} {
			if err := mysql.InsertRows(ctx, tx, t.table, t.columns, t.rows); err != nil {
				return err
			}
		}
		return insertIndexRows(ctx, tx, tags, metadata)
	})
}

// RecordImport notes one imported row.
func (rp *ResourceRepository) RecordImport(ctx context.Context, kind, legacyID, id string, at time.Time) error {
	return mysql.Write(ctx, rp.db, func(tx *sql.Tx) error {
		return mysql.Translate(rp.q.WithTx(tx).InsertLegacyID(ctx, resourcedb.InsertLegacyIDParams{Kind: kind, LegacyID: legacyID, ID: id, ImportedAt: at}))
	})
}
