package events

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestAHugeEventIsNotPooled crosses maxPooledEvent: the buffer an event
// past it was built in is not given back to the pool, so the pool never
// holds a buffer over the bound.
func TestAHugeEventIsNotPooled(t *testing.T) {
	at := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	huge := json.RawMessage(`{"x":"` + strings.Repeat("a", maxPooledEvent) + `"}`)
	e, err := NewWithID("id-1", "lattice/test", "test", "s", at, huge)
	require.NoError(t, err)
	require.Greater(t, len(e.Payload), maxPooledEvent)
	for range 10 { // whatever the pool gives back, none is past the bound
		buf := eventBuffers.Get().(*[]byte)
		require.LessOrEqual(t, cap(*buf), maxPooledEvent)
		defer eventBuffers.Put(buf)
	}
}
