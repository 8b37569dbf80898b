package fake_test

import (
	"testing"

	"github.com/lattice-platform/lattice/services/processing/app"
	"github.com/lattice-platform/lattice/services/processing/app/fake"
	"github.com/lattice-platform/lattice/services/processing/app/porttest"
)

func TestJobStore(t *testing.T) {
	porttest.JobStore(t, func(*testing.T) app.JobStore { return fake.NewJobStore() })
}
