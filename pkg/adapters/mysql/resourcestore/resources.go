package resourcestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lattice-platform/lattice/pkg/adapters/mysql"
	"github.com/lattice-platform/lattice/pkg/adapters/mysql/resourcestore/internal/resourcedb"
	"github.com/lattice-platform/lattice/services/resource/app"
	"github.com/lattice-platform/lattice/services/resource/domain"
)

// ResourceRepository is the MySQL-protocol app.ResourceRepository.
type ResourceRepository struct {
	db *sql.DB
	q  *resourcedb.Queries
}

var _ app.ResourceRepository = (*ResourceRepository)(nil)

// NewResourceRepository returns a repository on db.
func NewResourceRepository(db *sql.DB) *ResourceRepository {
	return &ResourceRepository{db: db, q: resourcedb.New(db)}
}

// Create stores r as version 1.
func (rp *ResourceRepository) Create(ctx context.Context, r domain.Resource, idem *domain.IdempotencyRecord) error {
	return mysql.Write(ctx, rp.db, func(tx *sql.Tx) error {
		q := rp.q.WithTx(tx)
		if idem != nil {
			if err := saveIdempotency(ctx, q, *idem); err != nil {
				return err
			}
		}
		meta, tags, err := encodeSets(r)
		if err != nil {
			return err
		}
		if err := q.InsertResource(ctx, resourcedb.InsertResourceParams{
			ID: r.ID, OwnerID: r.OwnerID, Title: r.Title, Body: r.Body, ContentType: r.ContentType,
			Metadata: meta, Tags: tags, Visibility: string(r.Visibility), Version: r.Version,
			CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		}); err != nil {
			return mysql.Translate(err)
		}
		return writeState(ctx, tx, q, r, false)
	})
}

// indexRows appends r's tag and metadata rows to tags and metadata.
func indexRows(r domain.Resource, tags, metadata [][]any) ([][]any, [][]any) {
	for _, t := range r.Tags {
		tags = append(tags, []any{r.ID, t})
	}
	for k, v := range r.Metadata {
		metadata = append(metadata, []any{r.ID, k, v})
	}
	return tags, metadata
}

// insertIndexRows writes tag and metadata rows with one multi-row INSERT
// a table. A statement per tag and per key cost a create with
// domain.MaxTags tags and domain.MaxMetadataKeys keys 70 round trips
// inside its transaction.
func insertIndexRows(ctx context.Context, tx *sql.Tx, tags, metadata [][]any) error {
	if err := mysql.InsertRows(ctx, tx, "resource_tags", []string{"resource_id", "tag"}, tags); err != nil {
		return err
	}
	return mysql.InsertRows(ctx, tx, "resource_metadata", []string{"resource_id", "meta_key", "meta_value"}, metadata)
}

// writeState records a new state: the version snapshot and the tag and
// metadata index rows.
func writeState(ctx context.Context, tx *sql.Tx, q *resourcedb.Queries, r domain.Resource, replace bool) error {
	snap, err := json.Marshal(snapshotOf(r))
	if err != nil {
		return err
	}
	if err := q.InsertVersion(ctx, resourcedb.InsertVersionParams{ResourceID: r.ID, Version: r.Version, Snapshot: snap, CreatedAt: r.UpdatedAt}); err != nil {
		return mysql.Translate(err)
	}
	if replace {
		if err := q.DeleteTags(ctx, r.ID); err != nil {
			return mysql.Translate(err)
		}
		if err := q.DeleteMetadata(ctx, r.ID); err != nil {
			return mysql.Translate(err)
		}
	}
	tags, metadata := indexRows(r, nil, nil)
	return insertIndexRows(ctx, tx, tags, metadata)
}

// Get returns a live resource.
func (rp *ResourceRepository) Get(ctx context.Context, id string) (domain.Resource, error) {
	row, err := rp.q.ResourceByID(ctx, id)
	if err != nil {
		return domain.Resource{}, mysql.Lookup(err, domain.ErrNotFound)
	}
	return fromRow(row)
}

// Update locks the row (SELECT … FOR UPDATE), applies change and stores the
// result as the next version.
func (rp *ResourceRepository) Update(ctx context.Context, id string, change func(domain.Resource) (domain.Resource, error)) (domain.Resource, error) {
	var updated domain.Resource
	err := mysql.Write(ctx, rp.db, func(tx *sql.Tx) error {
		q := rp.q.WithTx(tx)
		current, err := lockResource(ctx, q, id)
		if err != nil {
			return err
		}
		next, err := change(current)
		if err != nil {
			return err
		}
		meta, tags, err := encodeSets(next)
		if err != nil {
			return err
		}
		if err := q.UpdateResource(ctx, resourcedb.UpdateResourceParams{
			Title: next.Title, Body: next.Body, ContentType: next.ContentType, Metadata: meta, Tags: tags,
			Visibility: string(next.Visibility), Version: next.Version, UpdatedAt: next.UpdatedAt, ID: id,
		}); err != nil {
			return mysql.Translate(err)
		}
		updated = next
		return writeState(ctx, tx, q, next, true)
	})
	return updated, err
}

// Delete soft-deletes the resource once check approves it.
func (rp *ResourceRepository) Delete(ctx context.Context, id string, at time.Time, check func(domain.Resource) error) error {
	return mysql.Write(ctx, rp.db, func(tx *sql.Tx) error {
		q := rp.q.WithTx(tx)
		current, err := lockResource(ctx, q, id)
		if err != nil {
			return err
		}
		if err := check(current); err != nil {
			return err
		}
		return mysql.Translate(q.SoftDeleteResource(ctx, resourcedb.SoftDeleteResourceParams{DeletedAt: sql.NullTime{Time: at, Valid: true}, ID: id}))
	})
}

// List returns one page.
func (rp *ResourceRepository) List(ctx context.Context, lq domain.ListQuery) ([]domain.Resource, error) {
	p := resourcedb.ListByCreatedParams{
		IsAdmin: lq.Caller.Admin(), Caller: lq.Caller.Subject, Authenticated: !lq.Caller.Anonymous(),
		Owner: nullString(lq.Owner), Visibility: nullString(string(lq.Visibility)), Tag: nullString(lq.Tag),
		MetaKey: nullString(lq.MetaKey), MetaValue: nullString(lq.MetaValue), Limit: int32(lq.Limit),
	}
	if !lq.UpdatedSince.IsZero() {
		p.UpdatedSince = sql.NullTime{Time: lq.UpdatedSince, Valid: true}
	}
	if lq.After != nil {
		p.AfterTime = sql.NullTime{Time: lq.After.Time, Valid: true}
		p.AfterID = nullString(lq.After.ID)
	}
	var rows []resourcedb.Resource
	var err error
	if lq.Sort == domain.SortUpdated {
		rows, err = rp.q.ListByUpdated(ctx, resourcedb.ListByUpdatedParams(p))
	} else {
		rows, err = rp.q.ListByCreated(ctx, p)
	}
	if err != nil {
		return nil, mysql.Translate(err)
	}
	out := make([]domain.Resource, 0, len(rows))
	for _, row := range rows {
		r, err := fromRow(row)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Versions lists the stored versions, newest first. Every live resource
// has at least version 1, so no rows means the resource is absent or deleted.
func (rp *ResourceRepository) Versions(ctx context.Context, id string) ([]domain.VersionInfo, error) {
	rows, err := rp.q.ListVersions(ctx, id)
	if err != nil {
		return nil, mysql.Translate(err)
	}
	if len(rows) == 0 {
		return nil, domain.ErrNotFound
	}
	out := make([]domain.VersionInfo, len(rows))
	for i, r := range rows {
		out[i] = domain.VersionInfo{Version: r.Version, CreatedAt: r.CreatedAt.UTC()}
	}
	return out, nil
}

// Version returns the resource as it was at version n. A deleted resource
// has no readable versions.
func (rp *ResourceRepository) Version(ctx context.Context, id string, n int64) (domain.Resource, error) {
	snap, err := rp.q.VersionSnapshot(ctx, resourcedb.VersionSnapshotParams{ResourceID: id, Version: n})
	if err != nil {
		return domain.Resource{}, mysql.Lookup(err, domain.ErrVersionNotFound)
	}
	var rec snapshot
	if err := json.Unmarshal(snap, &rec); err != nil {
		return domain.Resource{}, fmt.Errorf("version %d of %s: %w", n, id, err)
	}
	return domain.Resource(rec), nil
}

// snapshot is the stored JSON of a version. It is its own type, with
// explicit names, so the domain type can change without breaking stored
// versions.
type snapshot struct {
	ID          string            `json:"id"`
	OwnerID     string            `json:"owner_id"`
	Title       string            `json:"title"`
	Body        string            `json:"body"`
	ContentType string            `json:"content_type"`
	Metadata    map[string]string `json:"metadata"`
	Tags        []string          `json:"tags"`
	Visibility  domain.Visibility `json:"visibility"`
	Version     int64             `json:"version"`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
}

func snapshotOf(r domain.Resource) snapshot { return snapshot(r) }

func encodeSets(r domain.Resource) (meta, tags []byte, err error) {
	m := r.Metadata
	if m == nil {
		m = map[string]string{}
	}
	t := r.Tags
	if t == nil {
		t = []string{}
	}
	if meta, err = json.Marshal(m); err != nil {
		return nil, nil, err
	}
	tags, err = json.Marshal(t)
	return meta, tags, err
}

func fromRow(row resourcedb.Resource) (domain.Resource, error) {
	r := domain.Resource{
		ID: row.ID, OwnerID: row.OwnerID, Title: row.Title, Body: row.Body, ContentType: row.ContentType,
		Visibility: domain.Visibility(row.Visibility), Version: row.Version,
		CreatedAt: row.CreatedAt.UTC(), UpdatedAt: row.UpdatedAt.UTC(),
	}
	if err := json.Unmarshal(row.Metadata, &r.Metadata); err != nil {
		return domain.Resource{}, fmt.Errorf("resource %s metadata: %w", row.ID, err)
	}
	if err := json.Unmarshal(row.Tags, &r.Tags); err != nil {
		return domain.Resource{}, fmt.Errorf("resource %s tags: %w", row.ID, err)
	}
	return r, nil
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
