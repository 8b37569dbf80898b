package target_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/platform/config"
	"github.com/lattice-platform/lattice/pkg/target"
)

// A description that lacks a part is reported by Validate (the registry
// test runs it on every target), never found by a nil dereference.
func TestValidateCatchesAMissingPart(t *testing.T) {
	build := func(context.Context, int, *target.Platform) (target.Service, error) { return target.Service{}, nil }
	conf := func(*config.Env, target.Settings) int { return 1 }
	require.NoError(t, target.New(target.Description[int]{Name: "x", Port: 9000, Config: conf, Build: build}).Validate())
	for name, d := range map[string]target.Description[int]{
		"no name":   {Port: 9000, Config: conf, Build: build},
		"no port":   {Name: "x", Config: conf, Build: build},
		"no config": {Name: "x", Port: 9000, Build: build},
		"no build":  {Name: "x", Port: 9000, Config: conf},
	} {
		require.Error(t, target.New(d).Validate(), name)
	}
	require.Error(t, target.Target{Name: "x", Port: 9000}.Validate(), "made without New")

	l := target.New(target.Description[int]{Name: "x", Port: 9000, Config: conf}).Load(config.FromMap(nil), target.Settings{})
	require.Nil(t, l.Migrate, "no store")
	require.NoError(t, l.Check(nil))
	_, err := l.Build(context.Background(), nil)
	require.Error(t, err, "no build step is an error, not a panic")
}
