package lattice_test

import (
	"flag"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks for leaked goroutines. The examples talk to a running
// platform (make run): without LATTICE_URL they are skipped, not failed;
// with it, the keep-alive connections their clients leave open to that
// platform (as a program's would) are not counted as leaks.
func TestMain(m *testing.M) {
	flag.Parse()
	if os.Getenv("LATTICE_URL") != "" {
		goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
			goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"), goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"))
		return
	}
	skip := "^Example"
	if s := flag.Lookup("test.skip").Value.String(); s != "" {
		skip = s + "|" + skip
	}
	_ = flag.Set("test.skip", skip)
	goleak.VerifyTestMain(m)
}
