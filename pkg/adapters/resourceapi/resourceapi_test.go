package resourceapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/resourceapi"
	"github.com/lattice-platform/lattice/pkg/fault"
)

// An access-check answer larger than any real one (100 ids fit in a few
// KiB) is refused as the peer's fault, not read without end.
func TestReadableRefusesAnOversizedAnswer(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"readable":["` + strings.Repeat("0", 128<<10) + `"]}`))
	}))
	t.Cleanup(srv.Close)
	c, err := resourceapi.New(srv.URL, srv.Client(), srv.Client())
	require.NoError(t, err)
	_, err = c.Readable(context.Background(), "tok", []string{"00000000-0000-7000-8000-000000000001"})
	require.True(t, fault.Of(err, fault.BadGateway), "got %v", err)
}
