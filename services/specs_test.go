package services_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"
)

// TestSpecsAreValid loads every published contract strictly: a YAML slip
// (an unquoted comma in a flow mapping, say) that code generation tolerates
// still fails here.
func TestSpecsAreValid(t *testing.T) {
	files, err := filepath.Glob("../openapi/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		doc, err := openapi3.NewLoader().LoadFromFile(f)
		require.NoError(t, err, f)
		require.NoError(t, doc.Validate(context.Background()), f)
	}
}
