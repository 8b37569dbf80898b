package observe_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/platform/observe"
)

// TestTraceStateOverTheLimitIsDropped: a tracestate longer than
// MaxTraceState is dropped whole (a cut list could be misread); the
// traceparent is kept, and one at the limit is kept too.
func TestTraceStateOverTheLimitIsDropped(t *testing.T) {
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	// n characters in valid members (a member's value is at most 256).
	state := func(n int) string {
		var members []string
		for i := 0; ; i++ {
			used := len(strings.Join(members, ","))
			if used > 0 {
				used++ // the comma before the next member
			}
			key := fmt.Sprintf("m%02d=", i)
			if left := n - used - len(key); left <= 50 {
				return strings.Join(append(members, key+strings.Repeat("a", left)), ",")
			}
			members = append(members, key+strings.Repeat("a", 50))
		}
	}
	for _, tc := range []struct {
		state string
		kept  bool
	}{{state(observe.MaxTraceState), true}, {state(observe.MaxTraceState + 1), false}} {
		ctx := observe.WithTraceContext(context.Background(), parent, tc.state)
		gotParent, gotState := observe.TraceContext(ctx)
		require.Equal(t, parent, gotParent)
		if tc.kept {
			require.Equal(t, tc.state, gotState)
		} else {
			require.Empty(t, gotState, "%d characters", len(tc.state))
		}
	}
}
