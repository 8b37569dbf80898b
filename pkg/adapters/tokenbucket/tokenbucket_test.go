package tokenbucket_test

import (
	"testing"

	"github.com/lattice-platform/lattice/pkg/adapters/tokenbucket"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/pkg/ports/portstest"
)

func TestRateLimiter(t *testing.T) {
	portstest.RateLimiter(t, func(*testing.T) ports.RateLimiter { return tokenbucket.New() })
}
