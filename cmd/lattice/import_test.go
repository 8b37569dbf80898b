package main

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestImportRefusesBoundsItCannotKeep: writers and batch sizes outside
// their bounds are refused before anything is opened.
func TestImportRefusesBoundsItCannotKeep(t *testing.T) {
	var out, errb strings.Builder
	for _, args := range [][]string{
		{"import", "--mapping", "m.yaml", "--workers", "0"}, {"import", "--mapping", "m.yaml", "--workers", "65"},
		{"import", "--mapping", "m.yaml", "--batch", "0"}, {"import", "--mapping", "m.yaml", "--batch", "1001"},
	} {
		require.ErrorContains(t, run(context.Background(), args, nil, &out, &errb, envMap(nil)), "usage:", "%v", args)
	}
}
