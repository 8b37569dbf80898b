package memory_test

import (
	"testing"

	"github.com/lattice-platform/lattice/pkg/adapters/memory"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/pkg/ports/portstest"
)

func TestUserRepository(t *testing.T) {
	portstest.UserRepository(t, func(*testing.T) ports.UserRepository { return memory.NewUserRepository() })
}

func TestSessionStore(t *testing.T) {
	portstest.SessionStore(t, func(*testing.T) (ports.SessionStore, string, string) {
		return memory.NewSessionStore(), "0190a000-0000-7000-8000-000000000001", "0190a000-0000-7000-8000-000000000002"
	})
}

func TestLoginThrottle(t *testing.T) {
	portstest.LoginThrottle(t, func(*testing.T) ports.LoginThrottle { return memory.NewLoginThrottle() })
}

func TestClientRepository(t *testing.T) {
	portstest.ClientRepository(t, func(*testing.T) ports.ClientRepository { return memory.NewClientRepository() })
}

func TestGrantStore(t *testing.T) {
	portstest.GrantStore(t, func(*testing.T) portstest.GrantFixture {
		return portstest.GrantFixture{Store: memory.NewGrantStore(), ClientID: "app", UserID: "0190a000-0000-7000-8000-000000000001"}
	})
}

func TestSigningKeyStore(t *testing.T) {
	portstest.SigningKeyStore(t, func(*testing.T) ports.SigningKeyStore { return memory.NewSigningKeyStore() })
}

func TestAPIKeyRepository(t *testing.T) {
	portstest.APIKeyRepository(t, func(*testing.T) (ports.APIKeyRepository, string, string) {
		return memory.NewAPIKeyRepository(), "0190a000-0000-7000-8000-000000000001", "0190a000-0000-7000-8000-000000000002"
	})
}

func TestResourceStore(t *testing.T) {
	portstest.ResourceStore(t, func(*testing.T) portstest.ResourceFixture {
		s := memory.NewResourceStore()
		return portstest.ResourceFixture{Resources: s, Idem: s, Outbox: s}
	})
}

func TestFileStore(t *testing.T) {
	portstest.FileStore(t, func(*testing.T) portstest.FileFixture {
		s := memory.NewResourceStore()
		return portstest.FileFixture{Resources: s, Files: s, Purger: s, Outbox: s}
	})
}

func TestBlobStore(t *testing.T) {
	portstest.BlobStore(t, func(*testing.T) ports.BlobStore { return memory.NewBlobStore() })
}

func TestRateLimiter(t *testing.T) {
	portstest.RateLimiter(t, func(*testing.T) ports.RateLimiter { return memory.NewRateLimiter() })
}

func TestJobStore(t *testing.T) {
	portstest.JobStore(t, func(*testing.T) ports.JobStore { return memory.NewJobStore() })
}

func TestSearchStore(t *testing.T) {
	portstest.SearchStore(t, func(*testing.T) ports.SearchStore { return memory.NewSearchStore() })
}

func TestUsageStore(t *testing.T) {
	portstest.UsageStore(t, func(*testing.T) ports.UsageStore { return memory.NewUsageStore() })
}

func TestAuditLog(t *testing.T) {
	portstest.AuditLog(t, func(*testing.T) ports.AuditLog { return memory.NewAuditLog() })
}
