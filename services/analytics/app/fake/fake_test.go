package fake_test

import (
	"testing"

	"github.com/lattice-platform/lattice/services/analytics/app"
	"github.com/lattice-platform/lattice/services/analytics/app/fake"
	"github.com/lattice-platform/lattice/services/analytics/app/porttest"
)

func TestUsageStore(t *testing.T) {
	porttest.UsageStore(t, func(*testing.T) app.UsageStore { return fake.NewUsageStore() })
}

func TestAuditLog(t *testing.T) {
	porttest.AuditLog(t, func(*testing.T) app.AuditLog { return fake.NewAuditLog() })
}
