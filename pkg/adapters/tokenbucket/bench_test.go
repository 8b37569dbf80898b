package tokenbucket_test

import (
	"context"
	"testing"
	"time"

	"github.com/lattice-platform/lattice/pkg/adapters/tokenbucket"
	"github.com/lattice-platform/lattice/pkg/ports"
)

// BenchmarkAllowEach is the gateway's charge: a request's two budgets,
// its address's and its identity's, in one call.
func BenchmarkAllowEach(b *testing.B) {
	l := tokenbucket.New()
	big := ports.RateLimit{Rate: 100_000_000, Period: time.Second, Burst: 100_000_000}
	budgets := []ports.RateBudget{{Key: "ip:default:127.0.0.1", Limit: big}, {Key: "id:default:client-app-1234", Limit: big}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		ds, err := ports.AllowEach(ctx, l, budgets)
		if err != nil || len(ds) != 2 || !ds[1].Allowed {
			b.Fatal(ds, err)
		}
	}
}
