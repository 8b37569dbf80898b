package resourcestore_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/mysql"
	"github.com/lattice-platform/lattice/pkg/adapters/mysql/resourcestore"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/pkg/ports/portstest"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/services/resource/app/porttest"
	"github.com/lattice-platform/lattice/services/resource/domain"
	schema "github.com/lattice-platform/lattice/sql"
)

func TestMain(m *testing.M) { testinfra.Run(m) }

func setup(t *testing.T) *sql.DB {
	t.Helper()
	return testinfra.MySQLMigrated(t, schema.Resource, "resource/migrations")
}

func TestResourceStore(t *testing.T) {
	porttest.ResourceStore(t, func(t *testing.T) porttest.ResourceFixture {
		db := setup(t)
		outbox := resourcestore.NewOutboxStore(db)
		return porttest.ResourceFixture{Resources: resourcestore.NewResourceRepository(db), Idem: resourcestore.NewIdempotencyStore(db),
			Tx: mysql.NewTransactor(db), Events: outbox, Outbox: outbox}
	})
}

func TestImporter(t *testing.T) {
	porttest.Importer(t, func(t *testing.T) porttest.ImportFixture {
		db := setup(t)
		repo, outbox := resourcestore.NewResourceRepository(db), resourcestore.NewOutboxStore(db)
		return porttest.ImportFixture{ResourceFixture: porttest.ResourceFixture{Resources: repo, Idem: resourcestore.NewIdempotencyStore(db),
			Tx: mysql.NewTransactor(db), Events: outbox, Outbox: outbox}, Imports: repo}
	})
}

func TestOutboxBacklog(t *testing.T) {
	portstest.OutboxBacklog(t, func(t *testing.T) portstest.OutboxStore { return resourcestore.NewOutboxStore(setup(t)) })
}

func TestOutboxTraceContext(t *testing.T) {
	portstest.OutboxTraceContext(t, func(t *testing.T) portstest.OutboxStore { return resourcestore.NewOutboxStore(setup(t)) })
}

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	dsn := testinfra.MySQL(t)
	require.NoError(t, mysql.Migrate(dsn, schema.Resource, "resource/migrations"))
	require.NoError(t, mysql.Migrate(dsn, schema.Resource, "resource/migrations"))
}

func TestFileStore(t *testing.T) {
	porttest.FileStore(t, func(t *testing.T) porttest.FileFixture {
		db := setup(t)
		r := resourcestore.NewResourceRepository(db)
		outbox := resourcestore.NewOutboxStore(db)
		return porttest.FileFixture{Resources: r, Files: r, Purger: r, Tx: mysql.NewTransactor(db), Events: outbox, Outbox: outbox}
	})
}

// TestChangesAndTheirEventsCommitTogether checks the unit of work (ADR
// 0017): a change and its events commit together, or (when anything in
// the unit fails after the write) neither is kept.
func TestChangesAndTheirEventsCommitTogether(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := setup(t)
	tx, repo, outbox := mysql.NewTransactor(db), resourcestore.NewResourceRepository(db), resourcestore.NewOutboxStore(db)
	ts := time.Now().UTC().Truncate(time.Microsecond)
	resource := func() domain.Resource {
		return domain.Resource{ID: uuid.Must(uuid.NewV7()).String(), OwnerID: "01a20000-0000-7000-8000-00000000000a", Title: "T",
			ContentType: "text/plain", Visibility: domain.Public, Version: 1, CreatedAt: ts, UpdatedAt: ts}
	}
	event := func() ports.Event {
		return ports.Event{ID: uuid.Must(uuid.NewV7()).String(), Subject: "events.resource.created", Payload: []byte(`{}`)}
	}

	kept, keptEvent := resource(), event()
	require.NoError(t, tx.InTx(ctx, func(ctx context.Context) error {
		if err := repo.Create(ctx, kept, nil); err != nil {
			return err
		}
		return outbox.Add(ctx, keptEvent)
	}))
	lost := resource()
	boom := errors.New("boom")
	err := tx.InTx(ctx, func(ctx context.Context) error {
		if err := repo.Create(ctx, lost, nil); err != nil {
			return err
		}
		if err := outbox.Add(ctx, event()); err != nil {
			return err
		}
		// A nested unit of work joins the outer one.
		if err := tx.InTx(ctx, func(ctx context.Context) error {
			_, err := repo.Update(ctx, kept.ID, func(cur domain.Resource) (domain.Resource, error) {
				cur.Title, cur.Version, cur.UpdatedAt = "changed", 2, ts.Add(time.Second)
				return cur, nil
			})
			return err
		}); err != nil {
			return err
		}
		return boom
	})
	require.ErrorIs(t, err, boom)
	_, err = repo.Get(ctx, lost.ID)
	require.ErrorIs(t, err, domain.ErrNotFound, "the change rolled back with its event")
	got, err := repo.Get(ctx, kept.ID)
	require.NoError(t, err)
	require.Equal(t, "T", got.Title, "the nested update rolled back with the outer unit")
	pending, err := outbox.Pending(ctx, 10)
	require.NoError(t, err)
	require.Len(t, pending, 1)
	require.Equal(t, keptEvent, pending[0].Event)
}
