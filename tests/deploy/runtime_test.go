package deploy_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/lattice-platform/lattice/pkg/target"
	"github.com/lattice-platform/lattice/services/gateway/gatewaysvc"
)

// TestComposeStartsTheGatewayWithItsRuntimeSettings: each gateway of the
// compose deployment has the target's GODEBUG settings in its environment
// (Go reads them only at start). It reads the file only: no engine needed.
func TestComposeStartsTheGatewayWithItsRuntimeSettings(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/compose/compose.yaml")
	require.NoError(t, err)
	var file struct {
		Services map[string]struct {
			Command     []string          `yaml:"command"`
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &file)) // yaml.v3 resolves the file's anchors and merge keys
	gateways := 0
	for name, s := range file.Services {
		if !strings.Contains(strings.Join(s.Command, " "), "--target="+gatewaysvc.Name) {
			continue
		}
		gateways++
		_, missing := target.WithGODEBUG(s.Environment["GODEBUG"], gatewaysvc.Target.GODEBUG)
		require.Empty(t, missing, "%s starts without these GODEBUG settings", name)
	}
	require.Equal(t, 2, gateways, "gateway-1 and gateway-2")
}
