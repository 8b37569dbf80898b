package fake_test

import (
	"testing"

	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/app/fake"
	"github.com/lattice-platform/lattice/services/auth/app/porttest"
)

func TestUserRepository(t *testing.T) {
	porttest.UserRepository(t, func(*testing.T) app.UserRepository { return fake.NewUserRepository() })
}

func TestSessionStore(t *testing.T) {
	porttest.SessionStore(t, func(*testing.T) (app.SessionStore, string, string) {
		return fake.NewSessionStore(), "0190a000-0000-7000-8000-000000000001", "0190a000-0000-7000-8000-000000000002"
	})
}

func TestLoginThrottle(t *testing.T) {
	porttest.LoginThrottle(t, func(*testing.T) app.LoginThrottle { return fake.NewLoginThrottle() })
}

func TestClientRepository(t *testing.T) {
	porttest.ClientRepository(t, func(*testing.T) app.ClientRepository { return fake.NewClientRepository() })
}

func TestGrantStore(t *testing.T) {
	porttest.GrantStore(t, func(*testing.T) porttest.GrantFixture {
		return porttest.GrantFixture{Store: fake.NewGrantStore(), ClientID: "app", UserID: "0190a000-0000-7000-8000-000000000001"}
	})
}

func TestSigningKeyStore(t *testing.T) {
	porttest.SigningKeyStore(t, func(*testing.T) app.SigningKeyStore { return fake.NewSigningKeyStore() })
}

func TestAPIKeyRepository(t *testing.T) {
	porttest.APIKeyRepository(t, func(*testing.T) (app.APIKeyRepository, string, string) {
		return fake.NewAPIKeyRepository(), "0190a000-0000-7000-8000-000000000001", "0190a000-0000-7000-8000-000000000002"
	})
}

func TestLegacyIDs(t *testing.T) {
	porttest.LegacyIDs(t, func(*testing.T) app.LegacyIDs { return fake.NewLegacyIDs() })
}
