package checkpointsink

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	"github.com/lattice-platform/lattice/pkg/fault"
)

// The read is repeated while the bus fails, and only then: a malformed
// checkpoint, the attempts running out and the caller giving up each end
// it with the last error.
func TestRetryRepeatsOnlyWhatTheBusFailed(t *testing.T) {
	t.Parallel()
	busDown := natsjs.Unavailable(errors.New("nats: no responders available for request"))
	malformed := errors.New("nats: checkpoint 3 has a malformed hash")
	for _, tc := range []struct {
		name      string
		failures  []error // what the reads return before succeeding
		attempts  int
		wantCalls int
		wantErr   error
	}{
		{"the bus recovers", []error{busDown, busDown}, 4, 3, nil},
		{"the bus stays down", []error{busDown, busDown, busDown, busDown, busDown}, 4, 4, busDown},
		{"malformed data is not read again", []error{malformed}, 4, 1, malformed},
		{"first try succeeds", nil, 4, 1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			calls := 0
			err := retry(context.Background(), tc.attempts, time.Millisecond, func() error {
				calls++
				if calls <= len(tc.failures) {
					return tc.failures[calls-1]
				}
				return nil
			})
			require.Equal(t, tc.wantCalls, calls)
			require.Equal(t, tc.wantErr, err)
		})
	}
}

func TestRetryStopsWhenTheCallerGivesUp(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	err := retry(ctx, 10, time.Hour, func() error {
		calls++
		cancel() // the caller leaves during the first pause
		return natsjs.Unavailable(errors.New("nats: timeout"))
	})
	require.Equal(t, 1, calls, "no read after the caller left")
	require.True(t, fault.Of(err, fault.Unavailable), "the bus's error is kept: %v", err)
}
