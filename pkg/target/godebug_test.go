package target_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/target"
)

// TestWithGODEBUG: a target's settings are added to what the environment
// has, except for keys it sets already, whose values stay as they are.
func TestWithGODEBUG(t *testing.T) {
	for _, c := range []struct {
		have, want, merged string
		added              []string
	}{
		{"", "schedtrace=9", "schedtrace=9", []string{"schedtrace"}},
		{"madvdontneed=1", "schedtrace=9", "madvdontneed=1,schedtrace=9", []string{"schedtrace"}},
		{"schedtrace=0", "schedtrace=9", "schedtrace=0", nil},
		{"a=1,schedtrace=5", "schedtrace=9,b=2", "a=1,schedtrace=5,b=2", []string{"b"}},
		{"a=1", "", "a=1", nil},
		{"a=1", "noequals,b=2,b=3", "a=1,b=2", []string{"b"}},
	} {
		merged, added := target.WithGODEBUG(c.have, c.want)
		require.Equal(t, c.merged, merged, "%q + %q", c.have, c.want)
		require.Equal(t, c.added, added, "%q + %q", c.have, c.want)
	}
}
