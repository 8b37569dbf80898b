// Command lattice-extract is the processing service's sandboxed text
// extractor as a program of its own: the child that the service starts for
// every uploaded file (pkg/adapters/extract). It does what `lattice
// extract` does, but starting it does not initialise every package of the
// platform, which cost the whole binary about a tenth of a second of CPU a
// file. The service runs it when it lies beside the lattice executable.
package main

import (
	"os"

	"github.com/lattice-platform/lattice/pkg/adapters/extract"
)

func main() { os.Exit(extract.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }
