package fake_test

import (
	"testing"

	"github.com/lattice-platform/lattice/services/search/app"
	"github.com/lattice-platform/lattice/services/search/app/fake"
	"github.com/lattice-platform/lattice/services/search/app/porttest"
)

func TestSearchStore(t *testing.T) {
	porttest.SearchStore(t, func(*testing.T) app.SearchStore { return fake.NewSearchStore() })
}
