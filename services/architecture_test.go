// Package services_test enforces the hexagonal import rules for every
// service: domain packages use only the standard library (and the
// dependency-free error taxonomy, pkg/fault, and caller rules, pkg/access); use-case packages reach
// infrastructure only through ports (their own, and the shared pkg/ports,
// which imports no service); HTTP and event edges import no adapters; no
// service imports another service's packages, even indirectly from its
// core; and no test support is linked into the binary.
package services_test

import (
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/lattice-platform/lattice/"

func isStdlib(path string) bool { return !strings.Contains(strings.SplitN(path, "/", 2)[0], ".") }

// importsOf returns the imports of the non-test Go files in dir.
func importsOf(t *testing.T, dir string) map[string][]string { return imports(t, dir, false) }

// imports returns the imports of the Go files in dir, tests included when
// withTests is set.
func imports(t *testing.T, dir string, withTests bool) map[string][]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	require.NoError(t, err)
	out := map[string][]string{}
	for _, f := range files {
		if !withTests && strings.HasSuffix(f, "_test.go") {
			continue
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		require.NoError(t, err)
		for _, imp := range parsed.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			out[f] = append(out[f], p)
		}
	}
	return out
}

func layerDirs(t *testing.T, layer string) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join("*", layer))
	require.NoError(t, err)
	var out []string
	for _, d := range dirs {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			out = append(out, d)
		}
	}
	require.NotEmpty(t, out, "no services/*/%s packages found", layer)
	return out
}

func TestDomainImportsOnlyStandardLibrary(t *testing.T) {
	for _, dir := range append(layerDirs(t, "domain"), "../pkg/fault", "../pkg/access") {
		for file, imports := range importsOf(t, dir) {
			for _, p := range imports {
				ok := isStdlib(p) || p == module+"pkg/fault" || p == module+"pkg/access"
				require.True(t, ok, "%s imports %s: domain code may import only the standard library, pkg/fault and pkg/access", file, p)
			}
		}
	}
}

// forbiddenInApp lists import prefixes a use-case package must not use:
// transports, drivers and adapters belong at the edge. The generated event
// payloads (pkg/events/schema) are allowed on purpose: they are data-only
// contract types (docs/adr/0008-events-built-in-use-cases.md).
var forbiddenInApp = []string{
	"net/http", "database/sql",
	module + "pkg/adapters", module + "pkg/platform", module + "pkg/testinfra",
	"github.com/jackc/", "github.com/go-sql-driver/", "github.com/redis/", "github.com/nats-io/",
	"github.com/go-chi/", "github.com/getkin/", "github.com/oapi-codegen/", "github.com/aws/",
}

func TestUseCasesUseNoInfrastructure(t *testing.T) {
	for _, dir := range layerDirs(t, "app") {
		for file, imports := range importsOf(t, dir) {
			for _, p := range imports {
				for _, bad := range forbiddenInApp {
					require.False(t, p == bad || strings.HasPrefix(p, bad+"/") || strings.HasPrefix(p, bad) && strings.HasSuffix(bad, "/"),
						"%s imports %s: use cases may not import transports, drivers or adapters", file, p)
				}
				require.False(t, strings.HasPrefix(p, module+"services/") && (strings.HasSuffix(p, "/oapi") || strings.HasSuffix(p, "/httpapi")),
					"%s imports generated or HTTP code %s", file, p)
			}
		}
	}
}

// TestSharedPortsImportNoService: pkg/ports holds only what several
// services share, in its own terms; a service's own ports live beside its
// core (services/<svc>/app/ports.go), so no core depends on another's.
func TestSharedPortsImportNoService(t *testing.T) {
	require.NoError(t, filepath.WalkDir("../pkg/ports", func(dir string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		for file, imports := range importsOf(t, dir) {
			for _, p := range imports {
				require.False(t, strings.HasPrefix(p, module+"services/"), "%s imports %s: pkg/ports imports nothing from services/", file, p)
				require.False(t, strings.HasPrefix(p, module+"pkg/adapters"), "%s imports adapter %s", file, p)
			}
		}
		return nil
	}))
}

// TestTechnologyPackagesImportNoService: pkg/adapters/<technology> holds
// what every store on that technology shares; each service's store is a
// package beneath it, so no store sees another service's types.
func TestTechnologyPackagesImportNoService(t *testing.T) {
	for _, tech := range []string{"postgres", "mysql", "natsjs", "s3blob", "redis"} {
		for file, imports := range importsOf(t, "../pkg/adapters/"+tech) {
			for _, p := range imports {
				require.False(t, strings.HasPrefix(p, module+"services/"), "%s imports %s: a service's store goes in a package of its own", file, p)
			}
		}
	}
}

// goListDeps returns the packages pkgs depend on, themselves included.
func goListDeps(t *testing.T, pkgs ...string) []string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list", "-deps"}, pkgs...)...).Output()
	require.NoError(t, err)
	return strings.Fields(string(out))
}

// TestCoresDependOnNoOtherService is the transitive form of the rule
// below: nothing a service's domain or use cases pull in, however
// indirectly, belongs to another service.
func TestCoresDependOnNoOtherService(t *testing.T) {
	for _, dir := range append(layerDirs(t, "domain"), layerDirs(t, "app")...) {
		svc := strings.SplitN(dir, string(filepath.Separator), 2)[0]
		for _, p := range goListDeps(t, "./"+dir) {
			other, ok := strings.CutPrefix(p, module+"services/")
			require.False(t, ok && strings.SplitN(other, "/", 2)[0] != svc, "%s depends on %s", dir, p)
		}
	}
}

// TestNoTestSupportInTheBinary: fakes, conformance suites and test
// infrastructure are for tests only; the lattice binary and the file
// extractor link none.
func TestNoTestSupportInTheBinary(t *testing.T) {
	for _, binary := range []string{"../cmd/lattice", "../cmd/lattice-extract"} {
		for _, p := range goListDeps(t, binary) {
			rel, ours := strings.CutPrefix(p, module)
			if !ours {
				continue
			}
			for _, part := range strings.Split(rel, "/") {
				require.False(t, part == "fake" || part == "testinfra" || strings.HasSuffix(part, "test"),
					"%s links test support %s", binary, p)
			}
		}
	}
}

// serviceDirs are every package directory under each service, by service.
func serviceDirs(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	require.NoError(t, filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() || path == "." {
			return err
		}
		svc := strings.SplitN(path, string(filepath.Separator), 2)[0]
		out[svc] = append(out[svc], path)
		return nil
	}))
	require.NotEmpty(t, out)
	return out
}

// TestServicesImportNoOtherService: services talk over HTTP and events
// only; no package of services/X imports services/Y, not even in its tests
// (the gateway reads the contracts it bundles from openapi/, not from the
// services' packages).
func TestServicesImportNoOtherService(t *testing.T) {
	for svc, dirs := range serviceDirs(t) {
		for _, dir := range dirs {
			for file, imps := range imports(t, dir, true) {
				for _, p := range imps {
					other, ok := strings.CutPrefix(p, module+"services/")
					require.False(t, ok && strings.SplitN(other, "/", 2)[0] != svc,
						"%s imports %s: a service may not import another service's packages", file, p)
				}
			}
		}
	}
}

// TestEdgesUseNoAdapters: handlers turn requests (httpapi) and events
// (eventsapi) into use-case calls; technology stays behind the ports.
func TestEdgesUseNoAdapters(t *testing.T) {
	edges, err := filepath.Glob(filepath.Join("*", "eventsapi"))
	require.NoError(t, err)
	for _, dir := range append(layerDirs(t, "httpapi"), edges...) {
		for file, imports := range importsOf(t, dir) {
			for _, p := range imports {
				require.False(t, strings.HasPrefix(p, module+"pkg/adapters"), "%s imports adapter %s", file, p)
			}
		}
	}
}
