package k8s_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"
	yamlstream "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// crds are the custom resource schemas in testdata/crds (README there
// says where each comes from), by "group/version/Kind".
type crds map[string]*openapi3.Schema

// loadCRDs reads every CustomResourceDefinition in dir and keeps each
// served version's openAPIV3Schema, closed against unknown fields.
func loadCRDs(t *testing.T, dir string) crds {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	out := crds{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		dec := yamlstream.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 1<<20)
		for {
			var crd struct {
				Kind string
				Spec struct {
					Group string
					Names struct{ Kind string }
					// Versions keep their schema as raw JSON: it is
					// closed and then read by kin-openapi.
					Versions []struct {
						Name   string
						Served bool
						Schema struct {
							OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
						}
					}
				}
			}
			if err := dec.Decode(&crd); errors.Is(err, io.EOF) {
				break
			} else {
				require.NoError(t, err, f)
			}
			if crd.Kind != "CustomResourceDefinition" {
				continue
			}
			for _, v := range crd.Spec.Versions {
				if !v.Served {
					continue
				}
				root := v.Schema.OpenAPIV3Schema
				// The API server allows these on every object, whether the
				// schema lists them (Istio's does not) or not.
				props, _ := root["properties"].(map[string]any)
				if props == nil {
					props = map[string]any{}
					root["properties"] = props
				}
				for name, typ := range map[string]string{"apiVersion": "string", "kind": "string", "metadata": "object"} {
					if _, ok := props[name]; !ok {
						props[name] = map[string]any{"type": typ}
					}
				}
				closeObjects(root)
				js, err := json.Marshal(v.Schema.OpenAPIV3Schema)
				require.NoError(t, err)
				s := &openapi3.Schema{}
				require.NoError(t, json.Unmarshal(js, s), "%s %s", f, v.Name)
				out[crd.Spec.Group+"/"+v.Name+"/"+crd.Spec.Names.Kind] = s
			}
		}
	}
	return out
}

// closeObjects makes every object schema that lists its properties refuse
// others, as the API server's structural pruning would drop them (a
// misspelt field is silently lost in a cluster; here it fails), unless
// the schema keeps unknown fields on purpose.
func closeObjects(s map[string]any) {
	if _, ok := s["properties"]; ok && s["x-kubernetes-preserve-unknown-fields"] != true {
		if _, set := s["additionalProperties"]; !set {
			s["additionalProperties"] = false
		}
	}
	for _, v := range s {
		switch v := v.(type) {
		case map[string]any:
			closeObjects(v)
		case []any:
			for _, e := range v {
				if m, ok := e.(map[string]any); ok {
					closeObjects(m)
				}
			}
		}
	}
}

// validate checks one custom resource (as JSON-decoded values) against
// its CRD's schema; it fails when no CRD describes its kind.
func (c crds) validate(obj map[string]any) error {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	s, ok := c[apiVersion+"/"+kind]
	if !ok {
		return errors.New("no CRD schema for " + apiVersion + " " + kind)
	}
	return s.VisitJSON(obj, openapi3.MultiErrors())
}

// TestCRDSchemasRefuseWrongResources: the validation is strict enough to
// catch the mistakes it is there for.
func TestCRDSchemasRefuseWrongResources(t *testing.T) {
	c := loadCRDs(t, "testdata/crds")
	parse := func(y string) map[string]any {
		var m map[string]any
		require.NoError(t, yaml.Unmarshal([]byte(y), &m))
		return m
	}
	good := `
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: x}
spec:
  scaleTargetRef: {name: x}
  triggers:
    - type: nats-jetstream
      metadata: {stream: JOBS}
`
	require.NoError(t, c.validate(parse(good)))
	for want, bad := range map[string]string{
		`property "minReplicas" is unsupported`: `
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: x}
spec:
  scaleTargetRef: {name: x}
  minReplicas: 2
  triggers: [{type: cpu, metadata: {}}]
`,
		`property "triggers" is missing`: `
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: x}
spec:
  scaleTargetRef: {name: x}
`,
		`value must be an array`: `
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: x}
spec:
  secretName: x
  issuerRef: {name: ca}
  dnsNames: x
`,
		`STRICTEST`: `
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: x}
spec:
  mtls: {mode: STRICTEST}
`,
		`no CRD schema for example.com/v1 Widget`: `
apiVersion: example.com/v1
kind: Widget
metadata: {name: x}
`,
	} {
		require.ErrorContains(t, c.validate(parse(bad)), want)
	}
}
