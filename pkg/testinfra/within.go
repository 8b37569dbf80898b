package testinfra

import (
	"testing"
	"time"
)

// Within polls cond every 50 ms until it holds, failing t with what when d
// passes first: the way tests wait for something to happen elsewhere,
// never a fixed sleep.
func Within(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
