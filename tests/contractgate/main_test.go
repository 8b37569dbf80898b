package main

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/openapi"
	"github.com/lattice-platform/lattice/pkg/testinfra/speccheck"
)

// everything is a record set that covers the whole contract.
func everything(t *testing.T) map[speccheck.Record]bool {
	t.Helper()
	seen := map[speccheck.Record]bool{}
	for _, name := range openapi.Services() {
		spec, err := openapi.Load(name)
		require.NoError(t, err)
		for _, item := range spec.Paths.Map() {
			for _, op := range item.Operations() {
				id := strings.ToLower(op.OperationID)
				seen[speccheck.Record{Operation: id, Status: 200}] = true
				for code := range op.Responses.Map() {
					if s, err := strconv.Atoi(code); err == nil {
						seen[speccheck.Record{Operation: id, Status: s}] = true
					}
				}
			}
		}
	}
	for typ := range speccheck.DataSchemas {
		seen[speccheck.Record{Event: typ, Role: "produced"}] = true
		seen[speccheck.Record{Event: typ, Role: "consumed"}] = true
	}
	return seen
}

func TestTheGateCountsEveryGap(t *testing.T) {
	none := map[speccheck.Record]string{}
	gaps, err := report(io.Discard, everything(t), none)
	require.NoError(t, err)
	require.Zero(t, gaps, "a run that exercised everything passes")

	for name, drop := range map[string]func(r speccheck.Record) bool{
		"a documented 4xx never produced": func(r speccheck.Record) bool { return r == speccheck.Record{Operation: "getresource", Status: 404} },
		"an event never consumed":         func(r speccheck.Record) bool { return r == speccheck.Record{Event: "file.deleted", Role: "consumed"} },
	} {
		seen := everything(t)
		for r := range seen {
			if drop(r) {
				delete(seen, r)
			}
		}
		gaps, err := report(io.Discard, seen, none)
		require.NoError(t, err)
		require.Equal(t, 1, gaps, name)
	}

	// An operation never called: itself and each of its documented 4xx.
	seen := everything(t)
	for r := range seen {
		if r.Operation == "getversion" {
			delete(seen, r)
		}
	}
	var out strings.Builder
	gaps, err = report(&out, seen, none)
	require.NoError(t, err)
	require.Equal(t, 1+3, gaps, out.String()) // never called; 400, 401, 404 never produced
	require.Contains(t, out.String(), "never called: getversion")
}

func TestExemptionsNeedAReasonAndMustNotGoStale(t *testing.T) {
	dir := t.TempDir()
	write := func(text string) string {
		path := filepath.Join(dir, "exemptions.txt")
		require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
		return path
	}
	for _, bad := range []string{"getResource 404\n", "getResource 404 reason:\n", "getResource reason: x\n", "getResource four reason: x\n"} {
		_, err := readExemptions(write(bad))
		require.Error(t, err, bad)
	}
	exempt, err := readExemptions(write("# comment\ngetResource 404 reason: cannot happen here\n"))
	require.NoError(t, err)

	seen := everything(t)
	delete(seen, speccheck.Record{Operation: "getresource", Status: 404})
	gaps, err := report(io.Discard, seen, exempt)
	require.NoError(t, err)
	require.Zero(t, gaps, "an exempted answer need not be produced")

	gaps, err = report(io.Discard, everything(t), exempt)
	require.NoError(t, err)
	require.Equal(t, 1, gaps, "an exemption of an answer a test produces is stale")

	ghost, err := readExemptions(write("noSuchOperation 404 reason: x\n"))
	require.NoError(t, err)
	gaps, err = report(io.Discard, everything(t), ghost)
	require.NoError(t, err)
	require.Equal(t, 1, gaps, "an exemption must name a documented answer")
}

func TestTheShippedExemptionsAreWellFormed(t *testing.T) {
	exempt, err := readExemptions("../../openapi/coverage-exemptions.txt")
	require.NoError(t, err)
	require.NotEmpty(t, exempt)
}
