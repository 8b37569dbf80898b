package proxy

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBudgetKeysAreTheJoinedStrings: with far more keys than slots, so
// that keys take each other's slots, every key is the one joined, and a
// key asked again and still held costs no allocation.
func TestBudgetKeysAreTheJoinedStrings(t *testing.T) {
	m := newBudgetKeys()
	for round := range 2 {
		for i := range 3 * budgetKeySlots {
			who := "10.0." + strconv.Itoa(i/256) + "." + strconv.Itoa(i%256)
			for _, scope := range []string{"ip:", "id:"} {
				for _, class := range []string{"default", "credentials", "default:x"} {
					require.Equal(t, scope+class+":"+who, m.key(scope, class, who), "round %d", round)
				}
			}
		}
	}
	// One part moved from one string to another is another key.
	require.Equal(t, "ip:a:b:c", m.key("ip:", "a", "b:c"))
	require.Equal(t, "ip:a:b:c", m.key("ip:", "a:b", "c"))
	require.Equal(t, "id:a:b:c", m.key("id:", "a:b", "c"))

	m.key("ip:", "default", "192.0.2.1")
	require.Zero(t, testing.AllocsPerRun(100, func() { m.key("ip:", "default", "192.0.2.1") }))
}
