package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lattice-platform/lattice/pkg/platform/config"
)

// cmdMigration shows and changes the migration routes' states through the
// gateway's migration API (any replica: they share the states). The
// parity shown is that replica's shadow comparisons. The
// gateway is LATTICE_URL; the bearer token, with the migration:admin
// scope, is LATTICE_TOKEN (or _FILE), never an argument.
func cmdMigration(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) error {
	const usage = "usage: lattice migration status | promote ROUTE [--percent N] [--reason R] | rollback ROUTE [--reason R]   (gateway: LATTICE_URL; token: LATTICE_TOKEN or LATTICE_TOKEN_FILE)"
	if len(args) == 0 {
		return errors.New(usage)
	}
	verb := args[0]
	fs := flag.NewFlagSet("migration "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	percent := fs.Int("percent", 0, "promote: the share of callers sent to Lattice (1-99)")
	reason := fs.String("reason", "", "why, for the record")
	var route string
	rest := args[1:]
	if verb != "status" && len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		route, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0, verb == "status" && route != "", verb != "status" && route == "",
		verb != "status" && verb != "promote" && verb != "rollback":
		return errors.New(usage)
	}
	env := &config.Env{Lookup: lookup}
	base := strings.TrimSuffix(env.String("LATTICE_URL", "http://127.0.0.1:8080"), "/")
	token := env.Secret("LATTICE_TOKEN", "")
	if err := env.Err(); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if token == "" {
		return errors.New("set LATTICE_TOKEN (or LATTICE_TOKEN_FILE) to a token with the migration:admin scope")
	}
	c := gatewayClient{base: base, token: token, http: &http.Client{Timeout: 30 * time.Second}}
	var routes []migrationRoute
	switch verb {
	case "status":
		var list struct{ Items []migrationRoute }
		if err := c.call(ctx, http.MethodGet, "/v1/migration/routes", nil, &list); err != nil {
			return err
		}
		routes = list.Items
	default:
		body := map[string]any{"route": route}
		if *percent != 0 {
			body["percent"] = *percent
		}
		if *reason != "" {
			body["reason"] = *reason
		}
		var r migrationRoute
		if err := c.call(ctx, http.MethodPost, "/v1/migration/routes/"+verb, body, &r); err != nil {
			return err
		}
		routes = []migrationRoute{r}
	}
	w := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ROUTE\tPHASE\tLEGACY\tLATTICE\tPARITY\tUPDATED\tBY")
	for _, r := range routes {
		phase := r.Phase
		if r.Phase == "canary" {
			phase = fmt.Sprintf("canary %d%%", r.Percent)
		}
		updated := "-"
		if r.UpdatedAt != nil {
			updated = r.UpdatedAt.Format(time.RFC3339)
		}
		parity := "-"
		if r.Shadow != nil && r.Shadow.Compared > 0 {
			parity = fmt.Sprintf("%.1f%% of %d", 100*float64(r.Shadow.Matched)/float64(r.Shadow.Compared), r.Shadow.Compared)
		}
		if r.Shadow != nil && r.Shadow.Failed+r.Shadow.Skipped > 0 {
			parity += fmt.Sprintf(" (%d not compared)", r.Shadow.Failed+r.Shadow.Skipped)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Route, phase, r.Legacy, r.Lattice, parity, updated, cmp.Or(r.UpdatedBy, "-"))
	}
	return w.Flush()
}

// migrationRoute is the API's MigrationRoute.
type migrationRoute struct {
	Route, Legacy, Lattice, Phase string
	Percent                       int
	UpdatedAt                     *time.Time `json:"updated_at"`
	UpdatedBy                     string     `json:"updated_by"`
	Shadow                        *struct{ Compared, Matched, Failed, Skipped int64 }
}

// gatewayClient calls the gateway's API with a bearer token.
type gatewayClient struct {
	base, token string
	http        *http.Client
}

// maxAnswer bounds an answer the CLI reads.
const maxAnswer = 1 << 20

func (c gatewayClient) call(ctx context.Context, method, path string, body, out any) error {
	var payload io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		payload = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, payload)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var p struct{ Title, Detail string }
		if json.Unmarshal(raw, &p) == nil && p.Title != "" {
			return fmt.Errorf("%s %s: %d %s: %s", method, path, resp.StatusCode, p.Title, p.Detail)
		}
		return fmt.Errorf("%s %s: %d", method, path, resp.StatusCode)
	}
	return json.Unmarshal(raw, out)
}
