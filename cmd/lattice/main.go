// Command lattice is Lattice's one binary: it serves any service (or all of
// them in one process), applies migrations, and runs operator commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/lattice-platform/lattice/pkg/adapters/extract"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "extract" {
		// The processing service's sandboxed parser: its exit status is
		// part of its protocol, so it bypasses run's error handling.
		os.Exit(extract.Main(os.Args[2:], os.Stdin, os.Stdout, os.Stderr))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.LookupEnv); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "lattice:", err)
		}
		os.Exit(2)
	}
}

// usage lists the commands, with the targets the registry holds.
var usage = `usage: lattice <command> [flags]

commands:
  serve    --target=all|` + strings.Join(targetNames(), "|") + `
  migrate  --target=all|<target>   create and migrate the stores, then exit
  user     create-admin --email E --name N   (password read from standard input)
  client   create --name N --type confidential|public [--redirect-uri U]... [--grant G]... [--scope S]...
  keys     rotate                            make a new access-token signing key active now
  import   --mapping FILE [--dry-run] [--files-dir D] [--workers N] [--batch N] [--progress-every D]
                                            copy another system's users, resources and files into Lattice, once each
                                            (source database: IMPORT_SOURCE_URL or IMPORT_SOURCE_URL_FILE)
  migration status | promote ROUTE [--percent N] | rollback ROUTE   [--reason R]
                                            a migration route's phase: legacy, shadow, canary N%, lattice
                                            (gateway: LATTICE_URL; token: LATTICE_TOKEN or LATTICE_TOKEN_FILE)
  certs    init --dir D                      a development CA (for compose and tests)
           issue --dir D --service S [--host H]...   a certificate for service S (spiffe://lattice/S)
  nats     authorization                     the NATS users: one per service, limited to its subjects
  extract  --type=T                         text of the file on standard input (the processing
                                            service runs it as a sandboxed child process)
  version
`

// run is main without the process: tests call it with their own arguments,
// environment and streams.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, lookup func(string) (string, bool)) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "serve":
		return cmdServe(ctx, args[1:], stdout, stderr, lookup, nil)
	case "migrate":
		return cmdMigrate(ctx, args[1:], stderr, lookup)
	case "user":
		return cmdUser(ctx, args[1:], stdin, stdout, stderr, lookup)
	case "client":
		return cmdClient(ctx, args[1:], stdout, stderr, lookup)
	case "keys":
		return cmdKeys(ctx, args[1:], stdout, stderr, lookup)
	case "import":
		return cmdImport(ctx, args[1:], stdout, stderr, lookup)
	case "migration":
		return cmdMigration(ctx, args[1:], stdout, stderr, lookup)
	case "certs":
		return cmdCerts(args[1:], stdout, stderr)
	case "nats":
		return cmdNATS(args[1:], stdout)
	case "version":
		fmt.Fprintln(stdout, "lattice", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
