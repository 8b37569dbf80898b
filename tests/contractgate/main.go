// Command contractgate is the contract-coverage gate: it reads the
// records the spec-validating test client wrote while the contract and
// e2e tests ran (pkg/testinfra/speccheck, in the directory named by
// -records), prints per spec how much of the contract they exercised, and
// exits 1 when an operation was never called, a documented 4xx of an
// operation was never produced, or an event type of events.yaml was not
// both produced and consumed under validation.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/lattice-platform/lattice/openapi"
	"github.com/lattice-platform/lattice/pkg/testinfra/speccheck"
)

func main() {
	records := flag.String("records", "", "the directory of coverage records (LATTICE_CONTRACT_COVERAGE of the test run)")
	exemptions := flag.String("exemptions", "openapi/coverage-exemptions.txt", "documented answers no test is required to produce, with reasons")
	flag.Parse()
	if *records == "" {
		fmt.Fprintln(os.Stderr, "contractgate: -records is required")
		os.Exit(2)
	}
	seen, err := read(*records)
	if err != nil {
		fmt.Fprintln(os.Stderr, "contractgate:", err)
		os.Exit(2)
	}
	exempt, err := readExemptions(*exemptions)
	if err != nil {
		fmt.Fprintln(os.Stderr, "contractgate:", err)
		os.Exit(2)
	}
	gaps, err := report(os.Stdout, seen, exempt)
	if err != nil {
		fmt.Fprintln(os.Stderr, "contractgate:", err)
		os.Exit(2)
	}
	if gaps > 0 {
		fmt.Fprintf(os.Stderr, "contractgate: %d gaps in the contract's coverage (listed above)\n", gaps)
		os.Exit(1)
	}
}

// read gathers every record file of dir.
func read(dir string) (map[speccheck.Record]bool, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no coverage records in %s: run the contract and e2e tests with %s=%s", dir, speccheck.CoverageEnv, dir)
	}
	seen := map[speccheck.Record]bool{}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var r speccheck.Record
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				f.Close()
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			// The services' embedded specs (oapi-codegen's) spell
			// operation ids with a capital; the files do not.
			r.Operation = strings.ToLower(r.Operation)
			seen[r] = true
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	return seen, nil
}

// report prints the coverage of every spec and returns the number of gaps.
func report(w io.Writer, seen map[speccheck.Record]bool, exempt map[speccheck.Record]string) (int, error) {
	gaps := 0
	used := map[speccheck.Record]bool{}
	calledOps := map[string]bool{}
	for r := range seen {
		if r.Operation != "" {
			calledOps[r.Operation] = true
		}
	}
	for _, name := range openapi.Services() {
		spec, err := openapi.Load(name)
		if err != nil {
			return 0, err
		}
		var ops, called, fours, produced int
		var missing, notes []string
		for path, item := range spec.Paths.Map() {
			for method, op := range item.Operations() {
				ops++
				id := strings.ToLower(op.OperationID)
				if !calledOps[id] {
					missing = append(missing, fmt.Sprintf("  never called: %s (%s %s)", id, method, path))
				} else {
					called++
				}
				for code := range op.Responses.Map() {
					status, err := strconv.Atoi(code)
					if err != nil || status < 400 || status > 499 {
						continue
					}
					fours++
					pair := speccheck.Record{Operation: id, Status: status}
					reason, exempted := exempt[pair]
					used[pair] = exempted
					switch {
					case seen[pair] && exempted:
						missing = append(missing, fmt.Sprintf("  %d is produced, but exempted: %s (drop it from the exemptions)", status, id))
					case seen[pair]:
						produced++
					case exempted:
						notes = append(notes, fmt.Sprintf("  %d exempted: %s (%s)", status, id, reason))
					default:
						missing = append(missing, fmt.Sprintf("  %d never produced: %s (%s %s)", status, id, method, path))
					}
				}
			}
		}
		slices.Sort(missing)
		fmt.Fprintf(w, "%-10s operations called %3d/%-3d documented 4xx produced %3d/%-3d\n", name, called, ops, produced, fours)
		for _, m := range append(notes, missing...) {
			fmt.Fprintln(w, m)
		}
		gaps += len(missing)
	}
	events, err := openapi.Load("events")
	if err != nil {
		return 0, err
	}
	var types []string
	for _, v := range events.Components.Schemas["CloudEvent"].Value.Properties["type"].Value.Enum {
		types = append(types, v.(string))
	}
	slices.Sort(types)
	var both int
	var missing []string
	for _, typ := range types {
		p := seen[speccheck.Record{Event: typ, Role: "produced"}]
		c := seen[speccheck.Record{Event: typ, Role: "consumed"}]
		if p && c {
			both++
		}
		var not []string
		if !p {
			not = append(not, "produced")
		}
		if !c {
			not = append(not, "consumed")
		}
		if len(not) > 0 {
			missing = append(missing, fmt.Sprintf("  %s never %s under validation", typ, strings.Join(not, " nor ")))
		}
	}
	for pair := range exempt {
		if !used[pair] {
			missing = append(missing, fmt.Sprintf("  the exemption of %d for %s names no documented 4xx", pair.Status, pair.Operation))
		}
	}
	fmt.Fprintf(w, "%-10s event types produced and consumed %d/%d\n", "events", both, len(types))
	for _, m := range missing {
		fmt.Fprintln(w, m)
	}
	return gaps + len(missing), nil
}

// readExemptions reads "<operation> <status> reason: <why>" lines.
func readExemptions(path string) (map[speccheck.Record]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[speccheck.Record]string{}
	for n, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		head, reason, ok := strings.Cut(line, "reason:")
		fields := strings.Fields(head)
		status, err := 0, error(nil)
		if len(fields) == 2 {
			status, err = strconv.Atoi(fields[1])
		}
		if !ok || strings.TrimSpace(reason) == "" || len(fields) != 2 || err != nil {
			return nil, fmt.Errorf("%s:%d: want \"<operation> <status> reason: <why>\"", path, n+1)
		}
		out[speccheck.Record{Operation: strings.ToLower(fields[0]), Status: status}] = strings.TrimSpace(reason)
	}
	return out, nil
}
