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

// TestAnUnknownServerIsRefused: GATEWAY_SERVER is checked the same way,
// and the fast front refuses to run without the fasthttp upstream client
// it forwards with.
func TestAnUnknownServerIsRefused(t *testing.T) {
	t.Parallel()
	build := func(server, client string) error {
		_, err := gatewaysvc.New(gatewaysvc.Config{Limiter: tokenbucket.New(), Upstreams: map[string]string{}, Server: server, UpstreamClient: client},
			slog.New(slog.DiscardHandler))
		return err
	}
	require.ErrorContains(t, build("fast-http", ""), `server "fast-http": want net/http or fasthttp`)
	require.ErrorContains(t, build(gatewaysvc.ServerFastHTTP, gatewaysvc.UpstreamNetHTTP), "needs the fasthttp upstream client")
	for _, ok := range [][2]string{{"", ""}, {gatewaysvc.ServerNetHTTP, gatewaysvc.UpstreamNetHTTP}, {gatewaysvc.ServerFastHTTP, ""}} {
		require.NoError(t, build(ok[0], ok[1]), "%q", ok)
	}
}
