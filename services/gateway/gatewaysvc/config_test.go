package gatewaysvc_test

import (
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/tokenbucket"
	"github.com/lattice-platform/lattice/services/gateway/gatewaysvc"
)

// TestAnUnknownUpstreamClientIsRefused: GATEWAY_UPSTREAM_CLIENT with a
// typo stops the gateway at start, naming the choices, rather than
// quietly picking one.
func TestAnUnknownUpstreamClientIsRefused(t *testing.T) {
	t.Parallel()
	_, err := gatewaysvc.New(gatewaysvc.Config{Limiter: tokenbucket.New(), Upstreams: map[string]string{}, UpstreamClient: "fast-http"},
		slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, `upstream client "fast-http": want fasthttp or net/http`)
	for _, ok := range []string{"", gatewaysvc.UpstreamFastHTTP, gatewaysvc.UpstreamNetHTTP} {
		_, err := gatewaysvc.New(gatewaysvc.Config{Limiter: tokenbucket.New(), Upstreams: map[string]string{}, UpstreamClient: ok},
			slog.New(slog.DiscardHandler))
		require.NoError(t, err, "%q", ok)
	}
}
