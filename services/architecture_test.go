// Package services_test enforces the hexagonal import rules for every
// service: domain packages use only the standard library (and the
// dependency-free error taxonomy, pkg/fault); use-case packages reach
// infrastructure only through pkg/ports; HTTP edges import no adapters; and
// no service imports another service's packages.
package services_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/lattice-platform/lattice/"

func isStdlib(path string) bool { return !strings.Contains(strings.SplitN(path, "/", 2)[0], ".") }

// importsOf returns the imports of the non-test Go files in dir.
func importsOf(t *testing.T, dir string) map[string][]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	require.NoError(t, err)
	out := map[string][]string{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
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
	for _, dir := range append(layerDirs(t, "domain"), "../pkg/fault") {
		for file, imports := range importsOf(t, dir) {
			for _, p := range imports {
				ok := isStdlib(p) || p == module+"pkg/fault"
				require.True(t, ok, "%s imports %s: domain code may import only the standard library and pkg/fault", file, p)
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

func TestPortsDependOnNoAdapter(t *testing.T) {
	for file, imports := range importsOf(t, "../pkg/ports") {
		for _, p := range imports {
			require.False(t, strings.HasPrefix(p, module+"pkg/adapters"), "%s imports adapter %s", file, p)
			require.True(t, isStdlib(p) || strings.HasPrefix(p, module+"services/") && strings.HasSuffix(p, "/domain"),
				"%s imports %s: ports speak in domain types only", file, p)
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
// only; no package of services/X imports services/Y (the gateway reads the
// contracts it bundles from openapi/, not from the services' packages).
func TestServicesImportNoOtherService(t *testing.T) {
	for svc, dirs := range serviceDirs(t) {
		for _, dir := range dirs {
			for file, imports := range importsOf(t, dir) {
				for _, p := range imports {
					other, ok := strings.CutPrefix(p, module+"services/")
					require.False(t, ok && strings.SplitN(other, "/", 2)[0] != svc,
						"%s imports %s: a service may not import another service's packages", file, p)
				}
			}
		}
	}
}

// TestHTTPEdgesUseNoAdapters: handlers turn requests into use-case calls;
// technology stays behind the ports.
func TestHTTPEdgesUseNoAdapters(t *testing.T) {
	for _, dir := range layerDirs(t, "httpapi") {
		for file, imports := range importsOf(t, dir) {
			for _, p := range imports {
				require.False(t, strings.HasPrefix(p, module+"pkg/adapters"), "%s imports adapter %s", file, p)
			}
		}
	}
}
