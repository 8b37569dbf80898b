package lattice_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The SDK is for programs that call Lattice, not for the servers: its
// module graph and its packages' dependencies must hold nothing of the
// platform's own (drivers, NATS, the search engine, server packages).
func TestTheSDKDependsOnNothingOfTheServers(t *testing.T) {
	forbidden := []string{"github.com/jackc/", "github.com/nats-io/", "github.com/blevesearch/", "github.com/go-sql-driver/",
		"github.com/redis/", "github.com/go-chi/", "github.com/getkin/", "github.com/testcontainers/",
		"github.com/lattice-platform/lattice/services", "github.com/lattice-platform/lattice/pkg"}
	for _, args := range [][]string{{"list", "-m", "all"}, {"list", "-deps", "-test", "./..."}} {
		cmd := exec.Command("go", args...)
		cmd.Env = append(os.Environ(), "GOWORK=off")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		lines := strings.Split(string(out), "\n")
		if len(lines) < 5 {
			t.Fatalf("go %s listed almost nothing:\n%s", strings.Join(args, " "), out)
		}
		for _, line := range lines {
			for _, f := range forbidden {
				if strings.HasPrefix(line, f) {
					t.Errorf("go %s: %s", strings.Join(args, " "), line)
				}
			}
		}
	}
}
