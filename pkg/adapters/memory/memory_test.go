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
