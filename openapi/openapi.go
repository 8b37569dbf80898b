// Package openapi holds Lattice's contracts — one OpenAPI 3.0.3 file per
// service, gateway.yaml for the gateway's own composite endpoints, and
// events.yaml for the event payloads — embedded, so code reads the files
// themselves instead of copies.
package openapi

import (
	"embed"
	"fmt"
	"io/fs"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

//go:embed *.yaml
var files embed.FS

// Load parses one contract by name ("auth" for auth.yaml).
func Load(name string) (*openapi3.T, error) {
	raw, err := files.ReadFile(name + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("openapi: no contract %q", name)
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		return nil, fmt.Errorf("openapi: %s.yaml: %w", name, err)
	}
	return doc, nil
}

// Services names the HTTP contracts: every file but events.yaml.
func Services() []string {
	entries, _ := fs.ReadDir(files, ".")
	var out []string
	for _, e := range entries {
		if name := strings.TrimSuffix(e.Name(), ".yaml"); name != "events" {
			out = append(out, name)
		}
	}
	return out
}
