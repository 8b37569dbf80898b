package fake_test

import (
	"testing"

	"github.com/lattice-platform/lattice/pkg/ports/portstest"
	"github.com/lattice-platform/lattice/services/resource/app/fake"
	"github.com/lattice-platform/lattice/services/resource/app/porttest"
)

func TestResourceStore(t *testing.T) {
	porttest.ResourceStore(t, func(*testing.T) porttest.ResourceFixture {
		s := fake.NewResourceStore()
		return porttest.ResourceFixture{Resources: s, Idem: s, Tx: portstest.Transactor{}, Events: s, Outbox: s}
	})
}

func TestFileStore(t *testing.T) {
	porttest.FileStore(t, func(*testing.T) porttest.FileFixture {
		s := fake.NewResourceStore()
		return porttest.FileFixture{Resources: s, Files: s, Purger: s, Tx: portstest.Transactor{}, Events: s, Outbox: s}
	})
}

func TestImporter(t *testing.T) {
	porttest.Importer(t, func(*testing.T) porttest.ImportFixture {
		s := fake.NewResourceStore()
		return porttest.ImportFixture{ResourceFixture: porttest.ResourceFixture{Resources: s, Idem: s, Tx: portstest.Transactor{}, Events: s, Outbox: s}, Imports: s}
	})
}
